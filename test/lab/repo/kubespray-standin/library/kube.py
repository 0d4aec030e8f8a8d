#!/usr/bin/python
# Lab stand-in for Kubespray's library/kube.py: found only through ansible.cfg's `library = ./library`. It adds or
# removes a node in the lab stand-in API server's node list (a folder of one file per registered node, holding
# the GPUs the node has, which the kubectl stand-in advertises once the GPU Operator is deployed).
import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            registry=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            gpus=dict(type="int", default=0),
        )
    )
    path = os.path.join(module.params["registry"], module.params["name"])
    os.makedirs(module.params["registry"], exist_ok=True)
    present = os.path.exists(path)
    record = "gpus=%d\n" % module.params["gpus"]
    if module.params["state"] == "present" and not present:
        with open(path, "w") as f:
            f.write(record)
        module.exit_json(changed=True)
    if module.params["state"] == "absent" and present:
        os.remove(path)
        module.exit_json(changed=True)
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
