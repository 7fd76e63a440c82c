#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_info
short_description: Facts about drd's system images (drd status --json)
description:
  - Runs C(drd status --json) and sets the facts C(drd) (a summary that
    playbooks test) and C(drd_status) (drd's document as it printed it,
    fields as in drd's docs/cli.md).
  - Read-only; takes no lock; never changes anything.
version_added: 0.1.0
author: drd developers (@drd-linux)
extends_documentation_fragment:
  - drd.drd.drd
attributes:
  check_mode:
    support: full
    description: Runs the same read-only command.
notes:
  - Needs drd on the managed host (C(/usr/sbin/drd), or on C(PATH)).
'''

EXAMPLES = r'''
- name: Read drd's images
  drd.drd.drd_info:

- name: Stop when a trial boot is still pending
  ansible.builtin.assert:
    that: ansible_facts.drd.trial == ''
    fail_msg: "{{ ansible_facts.drd.trial }} is on trial"
'''

RETURN = r'''
ansible_facts:
  description: The facts.
  returned: always
  type: dict
  contains:
    drd:
      description:
        - A summary of drd status for playbooks. C(booted), C(booted_id),
          C(booted_state), C(activated) (the image the next boot uses),
          C(trial) (the image on trial while trial boots are left, else
          empty), C(trial_tries), C(origin) (the image the booted one was
          cloned from), C(inactive), C(missing), C(clones) (of the booted
          image), C(complete_clones) (those complete or activated), and
          C(images), by name, each with C(id), C(state), C(reason),
          C(origin), C(target), C(disk), C(image_file), C(created),
          C(last_sync), C(booted).
      returned: always
      type: dict
      sample: {"booted": "sysimage_000", "activated": "sysimage_000", "trial": "", "trial_tries": 0,
               "complete_clones": ["sysimage_001"], "images": {"sysimage_001": {"state": "complete"}}}
    drd_status:
      description: The document of C(drd status --json).
      returned: always
      type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import Drd, DrdError, facts


def main():
    module = AnsibleModule(argument_spec=dict(root=dict(type='path')), supports_check_mode=True)
    drd = Drd(module, module.params['root'])
    try:
        status = drd.status()
    except DrdError as e:
        drd.fail(e)
    module.exit_json(changed=False, ansible_facts=dict(drd=facts(status), drd_status=status))


if __name__ == '__main__':
    main()
