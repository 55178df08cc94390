# SPDX-License-Identifier: Apache-2.0
# The manifests of deploy/kubernetes as podman kube play takes them, for the
# kube play check: a DaemonSet becomes the Pod its template describes; the
# node paths it writes (/var/lib/nestbox, /opt/nestbox, /etc/containers) move
# below NODE; every container gets IMAGE.
# NAME (optional) names the pod (a second copy of the DaemonSet's pod plays
# its rolling update).
#   python3 pod_from.py MANIFEST NODE IMAGE [NAME] > pod.yaml
import sys

import yaml

manifest, node, image = sys.argv[1:4]
name = sys.argv[4] if len(sys.argv) > 4 else None
doc = yaml.safe_load(open(manifest))
if doc["kind"] == "DaemonSet":
    doc = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name or doc["metadata"]["name"] + "-node"},
           "spec": doc["spec"]["template"]["spec"]}
for volume in doc["spec"].get("volumes", []):
    host = volume.get("hostPath")
    if host and host["path"].startswith(("/var/lib/nestbox", "/opt/nestbox", "/etc/containers")):
        host["path"] = node + host["path"]
if doc["spec"].get("initContainers"):
    # podman 4.3 removes a finished "once" init container too early and then
    # fails the play ("cannot remove container ... as it is running"); kept
    # ones ("always") run the same way and are not removed.
    doc["metadata"].setdefault("annotations", {})["io.podman.annotations.init.container.type"] = "always"
for container in doc["spec"]["containers"] + doc["spec"].get("initContainers", []):
    container["image"] = image
yaml.safe_dump(doc, sys.stdout)
