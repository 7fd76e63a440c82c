#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_clone
short_description: Clone the booted system image to a disk or an image file (drd clone)
description:
  - With I(state=present), makes sure a usable clone of the booted image
    lives on I(target). When C(drd status --json) already shows a clone
    of the booted image on I(target) in state C(complete) or
    C(activated), nothing is run and C(changed) is false (reuse it; bring
    it up to date with M(drd.drd.drd_sync)). Otherwise runs
    C(drd clone -t TARGET) with the extended options given.
  - With I(state=absent), removes the clones of the booted image on
    I(target) with C(drd delete); none there, nothing is run.
  - C(drd clone) prints no JSON; the module reads C(drd status --json)
    before and after it.
version_added: 0.1.0
author: drd developers (@drd-linux)
options:
  target:
    description:
      - The disk (C(/dev/sdb)) or image file (C(/srv/clone.img)) of the
        clone, as given to C(drd clone -t).
    type: path
    required: true
  state:
    description:
      - C(present) a usable clone of the booted image on I(target);
        C(absent) none.
    type: str
    choices: [present, absent]
    default: present
  overwrite:
    description:
      - C(-x overwrite=true), accept a target that carries data (it is lost).
    type: bool
    default: false
  esp:
    description: C(-x esp=true), give the clone an EFI system partition.
    type: bool
    default: false
  image_size:
    description: C(-x image_size=SIZE), the size of a new image file (C(40G)).
    type: str
  exclude:
    description: C(-x exclude=PATH) for each path whose contents are not copied.
    type: list
    elements: str
    default: []
  snapshot:
    description: C(-x snapshot=), for a root on LVM.
    type: str
    choices: [auto, always, never]
extends_documentation_fragment:
  - drd.drd.drd
  - drd.drd.drd.efi_vars
attributes:
  check_mode:
    support: full
    description: Runs C(drd clone -p) (every check and the plan, nothing written), or C(drd delete -p).
notes:
  - Exit code 2 of drd (a warning, such as a clone of live LVs in two passes)
    is success; each WARNING line shows as an Ansible warning.
  - A failing drd fails the task with drd's own message.
'''

EXAMPLES = r'''
- name: Clone the booted image to the second disk, or reuse a complete clone there
  drd.drd.drd_clone:
    target: /dev/sdb
    overwrite: true
    exclude:
      - /var/cache/apt/archives
'''

RETURN = r'''
image:
  description: Name of the clone on I(target) (for I(state=present) outside check mode).
  returned: success
  type: str
  sample: sysimage_001
reused:
  description: True when a usable clone was there and nothing was run.
  returned: success
  type: bool
rc:
  description: drd's exit code (absent when drd was not run).
  returned: when drd ran
  type: int
stderr:
  description: drd's messages.
  returned: when drd ran
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import (
    Drd, DrdError, clones_of, complete_clone_on, on_target, xopts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            target=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            overwrite=dict(type='bool', default=False),
            esp=dict(type='bool', default=False),
            image_size=dict(type='str'),
            exclude=dict(type='list', elements='str', default=[]),
            snapshot=dict(type='str', choices=['auto', 'always', 'never']),
            efi_vars=dict(type='str', choices=['auto', 'host', 'none']),
            root=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    drd = Drd(module, p['root'])
    try:
        before = drd.status()
        if p['state'] == 'absent':
            module.exit_json(**absent(module, drd, before, p['target']))
        have = complete_clone_on(before, p['target'])
        if have:
            module.exit_json(changed=False, reused=True, image=have['name'],
                             msg='%s is a %s clone of %s on %s' % (have['name'], have['state'], before['booted']['name'], p['target']))
        args = ['clone', '-t', p['target']]
        if module.check_mode:
            args.append('-p')
        args += xopts([
            ('overwrite', p['overwrite'] or None),
            ('esp', p['esp'] or None),
            ('image_size', p['image_size']),
            ('exclude', p['exclude'] or None),
            ('snapshot', p['snapshot']),
            ('efi_vars', p['efi_vars']),
        ])
        rc, out, err = drd.run(args)
        if module.check_mode:
            module.exit_json(changed=True, reused=False, rc=rc, stderr=err, msg='drd clone -p: the clone to %s would be made' % p['target'])
        after = drd.status()
        made = complete_clone_on(after, p['target'])
        if not made:
            raise DrdError('drd clone -t %s succeeded, yet drd status shows no complete clone of the booted image on %s'
                           % (p['target'], p['target']), rc=rc, stderr=err)
        module.exit_json(changed=True, reused=False, image=made['name'], rc=rc, stderr=err)
    except DrdError as e:
        drd.fail(e)


def absent(module, drd, status, target):
    """Deletes the clones of the booted image on target (drd delete)."""
    there = [img for img in clones_of(status) if on_target(img, target)]
    if not there:
        return dict(changed=False, reused=False, msg='no clone of the booted image on %s' % target)
    err = ''
    for img in there:
        args = ['delete', img['name']] + (['-p'] if module.check_mode else [])
        err += drd.run(args)[2]
    return dict(changed=True, reused=False, image=there[0]['name'], stderr=err)


if __name__ == '__main__':
    main()
