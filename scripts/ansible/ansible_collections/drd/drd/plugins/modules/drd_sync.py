#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_sync
short_description: Bring the booted image's changes since the clone into an inactive image (drd sync)
description:
  - Runs C(drd sync [IMAGE] --json) and returns its decision lists.
  - C(changed) is true when drd copied, deleted or merged anything; a sync
    with nothing to do changes nothing.
  - >-
    Written against the contract of C(drd sync) in drd's issue 13, which
    was being built when this module was written; C(drd sync --json)
    prints C({"image", "copied", "deleted", "merged", "conflicts":
    [{"path", "reason"}], "excluded", "packages": [{"name", "version",
    "change"}], "counts"}) and exits 0 when everything was synced, 2 when
    anything is in conflict or was skipped because packages changed on
    the booted image, 1 on error. The tests replay that contract.
version_added: 0.1.0
author: drd developers (@drd-linux)
options:
  image:
    description: The inactive image; left out, drd's default (the activated one, else the only inactive one).
    type: str
  exclude:
    description: C(-x exclude=PATH) for each path not to sync.
    type: list
    elements: path
    default: []
  allow_conflicts:
    description:
      - When drd exits 2 (conflicts, or packages changed on the booted
        image), succeed with warnings instead of failing. The clone then
        keeps its own version of each conflicting file, the booted one
        beside it as C(FILE.drd-booted).
    type: bool
    default: false
extends_documentation_fragment:
  - drd.drd.drd
attributes:
  check_mode:
    support: full
    description:
      - Runs C(drd sync -p --json), which computes and writes the decision
        lists on the booted image (C(/var/opt/drd/sync/)) and changes
        nothing in the clone; C(changed) is then whether a sync would.
'''

EXAMPLES = r'''
- name: Bring today's edits into the clone before the switch
  drd.drd.drd_sync:
  register: sync

- name: Show the conflicts
  ansible.builtin.debug:
    var: sync.conflicts
'''

RETURN = r'''
image:
  description: The image synced.
  returned: success
  type: str
copied:
  description: Paths copied from the booted image.
  returned: success
  type: list
  elements: str
deleted:
  description: Paths deleted in the clone.
  returned: success
  type: list
  elements: str
merged:
  description: Paths merged (account files, /etc lines).
  returned: success
  type: list
  elements: str
conflicts:
  description: Entries changed on both sides that could not be merged (C(path), C(reason)).
  returned: success
  type: list
  elements: dict
excluded:
  description: Paths not synced.
  returned: success
  type: list
  elements: str
packages:
  description: Packages changed on the booted image since the clone (C(name), C(version), C(change)).
  returned: success
  type: list
  elements: dict
counts:
  description: drd's counts.
  returned: success
  type: dict
rc:
  description: drd's exit code.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import (
    Drd, DrdError, EXIT_WARNING, parse_json, xopts)

LISTS = ('copied', 'deleted', 'merged', 'conflicts', 'excluded', 'packages')


def sync_result(doc):
    """The module's result fields from drd sync's document, and whether it changed the clone."""
    res = dict((k, doc.get(k) or []) for k in LISTS)
    res['image'] = doc.get('image', '')
    res['counts'] = doc.get('counts') or {}
    changed = bool(res['copied'] or res['deleted'] or res['merged'])
    return res, changed


def unresolved(res):
    """One line about the conflicts and the packages of a sync that exited 2."""
    parts = []
    if res['conflicts']:
        parts.append('%d conflict(s): %s' % (len(res['conflicts']), '; '.join(
            '%s (%s)' % (c.get('path'), c.get('reason')) for c in res['conflicts'])))
    if res['packages']:
        parts.append('packages changed on the booted image, not synced: %s; run the same install in the clone '
                     'with drd runcmd, or clone again' % ', '.join(
                         '%s %s (%s)' % (q.get('name'), q.get('version'), q.get('change')) for q in res['packages']))
    return '; '.join(parts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type='str'),
            exclude=dict(type='list', elements='path', default=[]),
            allow_conflicts=dict(type='bool', default=False),
            root=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    drd = Drd(module, p['root'])
    args = ['sync', '--json'] + (['-p'] if module.check_mode else []) + xopts([('exclude', p['exclude'] or None)])
    if p['image']:
        args.append(p['image'])
    try:
        rc, out, err = drd.run(args)
        res, changed = sync_result(parse_json(['drd'] + args, out))
    except DrdError as e:
        drd.fail(e)
    if rc == EXIT_WARNING:
        why = unresolved(res)
        if not p['allow_conflicts']:
            module.fail_json(msg='drd sync of %s left work undone: %s' % (res['image'], why or 'see stderr'),
                             changed=changed, rc=rc, stderr=err, **res)
        module.warn('drd sync of %s: %s' % (res['image'], why))
    module.exit_json(changed=changed, rc=rc, stderr=err, **res)


if __name__ == '__main__':
    main()
