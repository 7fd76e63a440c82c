#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_verify
short_description: Check an image's files against its package database (drd verify)
description:
  - Runs C(drd verify [IMAGE] --json) and returns its findings. Read-only;
    C(changed) is always false.
  - >-
    Written against the contract of C(drd verify) in drd's issue 16, which
    was being built when this module was written; C(drd verify --json)
    prints C({"image", "findings": [{"path", "kind", "package"}],
    "counts": {KIND: N}}) and exits 0 when nothing new is missing or
    modified, 2 otherwise, 1 on error. The tests replay that contract.
version_added: 0.1.0
author: drd developers (@drd-linux)
options:
  image:
    description: The image to check; left out, the booted one.
    type: str
  fail_on_findings:
    description: Fail when drd exits 2 (something new is missing or modified).
    type: bool
    default: false
extends_documentation_fragment:
  - drd.drd.drd
attributes:
  check_mode:
    support: full
    description: Runs the same read-only command.
'''

EXAMPLES = r'''
- name: Check the booted image before the window
  drd.drd.drd_verify:
    fail_on_findings: true
'''

RETURN = r'''
image:
  description: The image checked.
  returned: success
  type: str
findings:
  description: What drd found (C(path), C(kind), C(package)).
  returned: success
  type: list
  elements: dict
counts:
  description: Findings per kind.
  returned: success
  type: dict
rc:
  description: drd's exit code (2 when something new is missing or modified).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import Drd, DrdError, EXIT_WARNING


def main():
    module = AnsibleModule(
        argument_spec=dict(image=dict(type='str'), fail_on_findings=dict(type='bool', default=False),
                           root=dict(type='path')),
        supports_check_mode=True,
    )
    p = module.params
    drd = Drd(module, p['root'])
    args = ['verify', '--json'] + ([p['image']] if p['image'] else [])
    try:
        rc, doc, err = drd.json(args)
    except DrdError as e:
        drd.fail(e)
    res = dict(image=doc.get('image', ''), findings=doc.get('findings') or [], counts=doc.get('counts') or {})
    if rc == EXIT_WARNING and p['fail_on_findings']:
        module.fail_json(msg='drd verify of %s: files missing or modified since the baseline: %s' % (
            res['image'], ', '.join('%s %d' % (k, v) for k, v in sorted(res['counts'].items()))),
            changed=False, rc=rc, stderr=err, **res)
    module.exit_json(changed=False, rc=rc, stderr=err, **res)


if __name__ == '__main__':
    main()
