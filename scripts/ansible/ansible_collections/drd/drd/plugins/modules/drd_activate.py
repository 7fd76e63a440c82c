#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_activate
short_description: Make an image the boot target, for every boot or on trial (drd activate, drd deactivate)
description:
  - With I(state=activated), runs C(drd activate [IMAGE]), with
    C(-x trial=true) when I(trial) is set. Nothing is run and C(changed)
    is false when C(drd status --json) shows it done already. For a trial,
    a pending trial of I(image); otherwise I(image) is the next boot
    target and no trial is pending.
  - With I(state=deactivated), runs C(drd deactivate) (the booted image
    boots next) unless that is so already.
  - The module never reboots; reboot with M(ansible.builtin.reboot).
  - C(drd activate) prints no JSON; the module reads C(drd status --json)
    before and after it.
version_added: 0.1.0
author: drd developers (@drd-linux)
options:
  image:
    description:
      - The image to activate (C(sysimage_001), its disk, image file or
        id); left out, the only inactive image, as drd picks it.
    type: str
  state:
    description: C(activated) or C(deactivated).
    type: str
    choices: [activated, deactivated]
    default: activated
  trial:
    description: C(-x trial=true), boot the image on trial; its boot-time health checks decide.
    type: bool
    default: false
  tries:
    description: C(-x tries=N), trial boots before GRUB returns to the booted image (1 to 9).
    type: int
  force:
    description: C(-x force=true), activate an image that failed its trial (state C(bad)).
    type: bool
    default: false
extends_documentation_fragment:
  - drd.drd.drd
  - drd.drd.drd.efi_vars
attributes:
  check_mode:
    support: full
    description: Runs C(drd activate -p) (or C(drd deactivate -p)), which shows what it would write and changes nothing.
'''

EXAMPLES = r'''
- name: Boot the patched clone on trial at the next reboot
  drd.drd.drd_activate:
    trial: true
  register: act

- name: Reboot into it
  ansible.builtin.reboot:
    boot_time_command: cat /proc/sys/kernel/random/boot_id

- name: Back out before the reboot
  drd.drd.drd_activate:
    state: deactivated
'''

RETURN = r'''
image:
  description: The image the next boot uses (on trial, the trial image).
  returned: success
  type: str
  sample: sysimage_001
boot:
  description: drd's boot state after the command (C(next), C(trial), C(tries), C(seq)), from C(drd status --json).
  returned: success, outside check mode
  type: dict
rc:
  description: drd's exit code.
  returned: when drd ran
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import (
    Drd, DrdError, default_inactive, image_named, trial_pending, xopts)


def done(status, state, name, trial):
    """Whether status shows the wanted boot target already."""
    booted = (status.get('booted') or {}).get('name', '')
    pending = trial_pending(status)
    if state == 'deactivated':
        return not pending and status.get('activated') == booted
    img = image_named(status, name)
    if not img:
        return False
    if trial:
        return pending == img['name']
    return not pending and status.get('activated') == img['name']


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type='str'),
            state=dict(type='str', choices=['activated', 'deactivated'], default='activated'),
            trial=dict(type='bool', default=False),
            tries=dict(type='int'),
            force=dict(type='bool', default=False),
            efi_vars=dict(type='str', choices=['auto', 'host', 'none']),
            root=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    drd = Drd(module, p['root'])
    try:
        before = drd.status()
        name = p['image'] or default_inactive(before)
        if done(before, p['state'], name, p['trial']):
            module.exit_json(changed=False, image=before.get('activated', ''), boot=before.get('boot') or {},
                             msg='the next boot uses %s already' % before.get('activated', ''))
        if p['state'] == 'deactivated':
            args = ['deactivate'] + xopts([('efi_vars', p['efi_vars'])])
        else:
            args = ['activate'] + xopts([
                ('trial', p['trial'] or None),
                ('tries', p['tries']),
                ('force', p['force'] or None),
                ('efi_vars', p['efi_vars']),
            ])
            if p['image']:
                args.append(p['image'])
        if module.check_mode:
            args.insert(1, '-p')
        rc, out, err = drd.run(args)
        if module.check_mode:
            module.exit_json(changed=True, image=name, rc=rc, stderr=err)
        after = drd.status()
        module.exit_json(changed=True, image=after.get('activated', ''), boot=after.get('boot') or {}, rc=rc, stderr=err)
    except DrdError as e:
        drd.fail(e)


if __name__ == '__main__':
    main()
