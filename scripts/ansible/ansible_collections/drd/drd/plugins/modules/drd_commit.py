#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_commit
short_description: Keep the image that passed its trial boot, retire the other (drd commit)
description:
  - Runs C(drd commit [IMAGE]) after the booted clone passed its trial
    (state C(good)); it becomes the base and the image it was cloned from
    is marked C(retired), so the next M(drd.drd.drd_clone) may reuse that
    disk.
  - Nothing is run and C(changed) is false when C(drd status --json) shows
    the commit made already (the image it was cloned from is C(retired),
    or (that image being gone) the image's history has a C(commit) event
    that succeeded).
  - Written against the contract of C(drd commit) in drd's issue 16,
    which was being built when this module was written; C(drd commit
    [-p] [IMAGE]) exits 0 when done and 1 when refused (a trial still
    pending, an image that is not booted and C(good)), C(-p) included,
    with the reason on stderr. The tests replay that contract.
version_added: 0.1.0
author: drd developers (@drd-linux)
options:
  image:
    description: The image to commit; left out, the booted one.
    type: str
extends_documentation_fragment:
  - drd.drd.drd
attributes:
  check_mode:
    support: full
    description: Runs C(drd commit -p), which fails where the real command would be refused and changes nothing.
'''

EXAMPLES = r'''
- name: Close the window, keeping the patched image
  drd.drd.drd_commit:
'''

RETURN = r'''
image:
  description: The image committed.
  returned: success
  type: str
retired:
  description: The image retired by the commit (its origin), when status shows it.
  returned: success
  type: str
rc:
  description: drd's exit code.
  returned: when drd ran
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import Drd, DrdError, image_named


def origin_of(status, img):
    """The image img was cloned from, or None."""
    for other in status.get('images') or []:
        if img.get('origin') and other.get('id') == img.get('origin'):
            return other
    return None


def committed(status, img):
    """Whether status shows img committed: its origin retired, or (origin gone) a commit in its history."""
    origin = origin_of(status, img)
    if origin is not None:
        return origin.get('state') == 'retired'
    return any(ev.get('action') == 'commit' and ev.get('result') == 'succeeded' for ev in img.get('history') or [])


def main():
    module = AnsibleModule(
        argument_spec=dict(image=dict(type='str'), root=dict(type='path')),
        supports_check_mode=True,
    )
    p = module.params
    drd = Drd(module, p['root'])
    try:
        before = drd.status()
        img = image_named(before, p['image']) if p['image'] else before.get('booted')
        if img and committed(before, img):
            origin = origin_of(before, img) or {}
            module.exit_json(changed=False, image=img['name'], retired=origin.get('name', ''),
                             msg='%s is committed already' % img['name'])
        args = ['commit'] + (['-p'] if module.check_mode else []) + ([p['image']] if p['image'] else [])
        rc, out, err = drd.run(args)
        name = img['name'] if img else p['image']
        if module.check_mode:
            module.exit_json(changed=True, image=name, rc=rc, stderr=err)
        after = drd.status()
        now = image_named(after, name) or {}
        origin = origin_of(after, now) or {}
        module.exit_json(changed=True, image=name, retired=origin.get('name', ''), rc=rc, stderr=err)
    except DrdError as e:
        drd.fail(e)


if __name__ == '__main__':
    main()
