#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: drd_runcmd
short_description: Run a DRD-safe command in the inactive system image (drd runcmd)
description:
  - Runs C(drd runcmd COMMAND ARGS...) against the inactive image, in
    drd's jail (docs/runcmd.md), such as C(apt-get -y upgrade), C(dpkg -i),
    C(update-initramfs -u)...
  - C(changed) comes from the image's history in C(drd status --json);
    true when the run recorded package changes (C(changes) returns them),
    false when it changed no package, as a second C(apt-get -y upgrade)
    does. A command drd does not read the packages of (not apt, apt-get,
    dpkg, rpm, dnf, yum or zypper) always counts as changed; use
    C(changed_when) to say otherwise.
  - The command's output (what apt printed) is returned as C(stdout).
version_added: 0.1.0
author: drd developers (@drd-linux)
options:
  command:
    description:
      - The command and its arguments, one word per item (no shell).
    type: list
    elements: str
    required: true
  image:
    description: C(-x image=NAME), the inactive image to change; left out, the only one.
    type: str
  depot:
    description: C(-x depot=DIR) for each directory of packages shown read-only in the jail.
    type: list
    elements: path
    default: []
  network:
    description: C(-x network=), the jail's network (C(true) through slirp4netns, C(false) none, C(host)).
    type: str
    choices: ['true', 'false', 'host']
  allow_unsafe:
    description: C(-x allow_unsafe=true), run what is not DRD-safe anyway (warned).
    type: bool
    default: false
  name:
    description: C(-x name=NAME), the change's name in drd's event log.
    type: str
  note:
    description: C(-x note=TEXT), a note for drd's event log.
    type: str
  noninteractive:
    description:
      - Run with C(DEBIAN_FRONTEND=noninteractive), so that no debconf
        question waits for an answer nobody gives.
    type: bool
    default: true
extends_documentation_fragment:
  - drd.drd.drd
attributes:
  check_mode:
    support: full
    description:
      - Runs C(drd runcmd -x precheck_only=true -x report=json), drd's
        preview of runcmd; apt's solution is found and judged, nothing is
        installed. apt downloads the packages into the inactive image's
        C(/var/cache/apt/archives) (that is how it finds its solution);
        no package, file outside that cache, or record changes.
        C(changed) is true when the report lists packages to install,
        remove or reconfigure; C(report) returns it.
notes:
  - A command refused as not DRD-safe fails with drd's message; C(report)
    then holds drd's JSON report (C(refusals) says why).
'''

EXAMPLES = r'''
- name: Patch the clone
  drd.drd.drd_runcmd:
    command: [apt-get, -y, upgrade]

- name: Install a package from a local depot
  drd.drd.drd_runcmd:
    command: [dpkg, -i, /srv/debs/agent_2.1_amd64.deb]
    depot: [/srv/debs]
'''

RETURN = r'''
image:
  description: The image changed (or, in check mode, that would be).
  returned: success
  type: str
  sample: sysimage_001
changes:
  description: The packages the run changed, from the image's history (C(package), C(from), C(to)).
  returned: success, outside check mode
  type: list
  elements: dict
  sample: [{"package": "openssl", "from": "3.0.15-1~deb12u1", "to": "3.0.17-1~deb12u2"}]
report:
  description: drd's DRD-safe report (C(-x report=json)), in check mode and when drd refused the command.
  returned: check mode, refusal
  type: dict
stdout:
  description: What the command printed.
  returned: always
  type: str
rc:
  description: drd's exit code, the worse of drd's and the command's.
  returned: always
  type: int
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.drd.drd.plugins.module_utils.drd import (
    Drd, DrdError, EXIT_ERROR, default_inactive, image_named, parse_json, xopts)

# Commands whose package changes drd records (runcmd's ParseOps, pkgdb).
PACKAGE_TOOLS = ('apt', 'apt-get', 'dpkg', 'dpkg-reconfigure', 'rpm', 'dnf', 'yum', 'zypper')


def package_changes(before, after, name):
    """The package changes of the runcmd events image name got between the two statuses."""
    old = image_named(before, name) or {}
    new = image_named(after, name) or {}
    events = (new.get('history') or [])[len(old.get('history') or []):]
    changes = []
    for ev in events:
        if ev.get('action') == 'runcmd':
            changes += ev.get('changes') or []
    return changes


def would_change(report, tool):
    """Whether a precheck report lists any package to install, remove or
    reconfigure; a command drd does not read the packages of would change
    something, as far as anyone can tell."""
    return bool((report or {}).get('packages')) or tool not in PACKAGE_TOOLS


def run_reporting(drd, args, env):
    """Runs drd runcmd; a refusal (exit 1) fails the module with drd's JSON report."""
    try:
        return drd.run(args, environ=env)
    except DrdError as e:
        report = {}
        if e.rc == EXIT_ERROR:
            try:
                report = parse_json(args, e.stdout)
            except DrdError:
                pass
        drd.fail(e, report=report)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type='list', elements='str', required=True),
            image=dict(type='str'),
            depot=dict(type='list', elements='path', default=[]),
            network=dict(type='str', choices=['true', 'false', 'host']),
            allow_unsafe=dict(type='bool', default=False),
            name=dict(type='str'),
            note=dict(type='str'),
            noninteractive=dict(type='bool', default=True),
            root=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p['command']:
        module.fail_json(msg='command is empty: give the command to run in the image, e.g. [apt-get, -y, upgrade]')
    drd = Drd(module, p['root'])
    args = ['runcmd'] + xopts([
        ('image', p['image']),
        ('depot', p['depot'] or None),
        ('network', p['network']),
        ('allow_unsafe', p['allow_unsafe'] or None),
        ('name', p['name']),
        ('note', p['note']),
        ('report', 'json'),
    ])
    env = {'DEBIAN_FRONTEND': 'noninteractive'} if p['noninteractive'] else {}
    try:
        before = drd.status()
        name = p['image'] or default_inactive(before)
        tool = os.path.basename(p['command'][0])
        if module.check_mode:
            args += xopts([('precheck_only', True)]) + p['command']
            rc, out, err = run_reporting(drd, args, env)
            report = parse_json(['drd'] + args, out)
            module.exit_json(changed=would_change(report, tool), image=report.get('image', name), report=report,
                             rc=rc, stdout=out, stderr=err)
        args += p['command']
        rc, out, err = run_reporting(drd, args, env)
        after = drd.status()
        name = name or default_inactive(after)
        changes = package_changes(before, after, name)
        changed = bool(changes) or tool not in PACKAGE_TOOLS
        module.exit_json(changed=changed, image=name, changes=changes, rc=rc, stdout=out, stderr=err)
    except DrdError as e:
        drd.fail(e)


if __name__ == '__main__':
    main()
