# -*- coding: utf-8 -*-
"""The code the drd.drd modules share: run drd, read its JSON and its
messages, and turn drd status --json into facts.

Every module is a thin wrapper: it runs one drd command through
AnsibleModule.run_command (never a shell), and decides "changed" from what
drd printed or from drd status before and after. The pure functions here
(facts, messages, matching) take plain values and are unit-tested without
drd.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

# drd's exit codes (docs/cli.md): 0 success, 1 error, 2 success with warnings.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WARNING = 2

# States of a clone that is whole and usable: drd may boot, sync or change it.
USABLE_STATES = ('complete', 'activated')


class DrdError(Exception):
    """drd failed: msg is drd's own message, with its exit code and output."""

    def __init__(self, msg, rc=None, stdout='', stderr='', cmd=None):
        super(DrdError, self).__init__(msg)
        self.msg = msg
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd


def error_lines(stderr):
    """The lines of drd's stderr that say what failed.

    drd prints an error as "  ERROR: ..." (its continuation lines indented
    under it), a usage error as "drd clone: ..." and a hint, and an error
    nobody printed as "drd: ...". Banner (=======), step (*) and progress
    lines are left out. With no such line, the last line that is not a
    banner is the message.
    """
    lines = (stderr or '').splitlines()
    out = []
    in_error = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith('ERROR:'):
            out.append(stripped[len('ERROR:'):].strip())
            in_error = True
            continue
        if in_error and line.startswith('    ') and stripped:
            out.append(stripped)
            continue
        in_error = False
        if line.startswith('drd') and ':' in line and not stripped.startswith('======='):
            out.append(stripped)
            continue
        if line.startswith('Run ') and out:
            out.append(stripped)
    if out:
        return out
    rest = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith('=======')]
    return rest[-1:]


def warning_lines(stderr):
    """drd's WARNING lines (without the word), in order."""
    out = []
    for line in (stderr or '').splitlines():
        stripped = line.strip()
        if stripped.startswith('WARNING:'):
            out.append(stripped[len('WARNING:'):].strip())
    return out


def error_message(cmd, rc, stderr):
    """One message for a failed drd command: drd's own words first."""
    words = ' '.join(cmd)
    lines = error_lines(stderr)
    if lines:
        return '%s (exit %s): %s' % (words, rc, ' '.join(lines))
    return '%s failed with exit code %s and no message on stderr' % (words, rc)


def parse_json(cmd, stdout):
    """drd's JSON document on stdout; DrdError naming the command if it is not one."""
    try:
        return json.loads(stdout)
    except ValueError as e:
        raise DrdError('%s printed no JSON document on stdout (%s): is drd too old for this module?'
                       % (' '.join(cmd), e), stdout=stdout, cmd=cmd)


def image_named(status, name):
    """The image object of status that name names, as drd's IMAGE does: its name, id, disk or image file; or None."""
    if not name:
        return None
    images = (status or {}).get('images') or []
    for img in images:
        if name in (img.get('name'), img.get('id')):
            return img
    for img in images:
        if any(_same_path(name, img.get(k)) for k in ('disk', 'image_file')):
            return img
    return None


def _image_by_id(status, image_id):
    if not image_id:
        return None
    for img in (status or {}).get('images') or []:
        if img.get('id') == image_id:
            return img
    return None


def trial_pending(status):
    """The image on trial while trial boots are left, or ''."""
    boot = (status or {}).get('boot') or {}
    if boot.get('trial') and (boot.get('tries') or 0) > 0:
        return boot['trial']
    return ''


def _same_path(a, b):
    if not a or not b:
        return False
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def on_target(img, target):
    """Whether img lives on target: its clone target, its disk or its image file."""
    return any(_same_path(target, img.get(k)) for k in ('target', 'disk', 'image_file'))


def clones_of(status, booted=None):
    """The images cloned from the booted image (origin is its id), in status order."""
    booted = booted if booted is not None else (status or {}).get('booted')
    if not booted:
        return []
    return [img for img in (status or {}).get('images') or []
            if img.get('origin') == booted.get('id') and not img.get('booted')]


def complete_clone_on(status, target):
    """A usable clone of the booted image on target, or None."""
    for img in clones_of(status):
        if img.get('state') in USABLE_STATES and on_target(img, target):
            return img
    return None


def inactive_images(status):
    """Names of the images that are found and not booted."""
    return [img.get('name') for img in (status or {}).get('images') or [] if not img.get('booted')]


def default_inactive(status):
    """The only inactive image's name, as drd picks it when IMAGE is left out; '' if not exactly one."""
    names = inactive_images(status)
    return names[0] if len(names) == 1 else ''


def facts(status):
    """The drd facts drd_info sets: a summary of drd status --json that playbooks test.

    booted, booted_state, activated, trial (the image on trial while boots
    are left, else ''), trial_tries, origin (name of the image the booted
    one was cloned from, '' if none found), inactive (names), missing
    (names), clones (of the booted image), complete_clones (those that are
    complete or activated), images ({name: {state, reason, origin, target,
    disk, image_file, created, last_sync, booted}}).
    """
    status = status or {}
    booted = status.get('booted') or {}
    boot = status.get('boot') or {}
    images = {}
    for img in status.get('images') or []:
        images[img.get('name')] = {
            'id': img.get('id', ''),
            'state': img.get('state', ''),
            'reason': img.get('reason', ''),
            'origin': img.get('origin', ''),
            'target': img.get('target', ''),
            'disk': img.get('disk', ''),
            'image_file': img.get('image_file', ''),
            'created': img.get('created', ''),
            'last_sync': img.get('last_sync', ''),
            'booted': bool(img.get('booted')),
        }
    origin = _image_by_id(status, booted.get('origin'))
    clones = clones_of(status, booted or None)
    trial = trial_pending(status)
    return {
        'booted': booted.get('name', ''),
        'booted_id': booted.get('id', ''),
        'booted_state': booted.get('state', ''),
        'activated': status.get('activated', ''),
        'trial': trial,
        'trial_tries': boot.get('tries', 0) if trial else 0,
        'origin': origin.get('name', '') if origin else '',
        'inactive': inactive_images(status),
        'missing': [img.get('name') for img in status.get('missing') or []],
        'clones': [img.get('name') for img in clones],
        'complete_clones': [img.get('name') for img in clones if img.get('state') in USABLE_STATES],
        'images': images,
    }


class Drd(object):
    """Runs drd for one module: LC_ALL=C, no shell, --root when given."""

    def __init__(self, module, root=None):
        self.module = module
        self.root = root
        # PATH first, then /sbin, /usr/sbin, /usr/local/sbin (get_bin_path adds them).
        self.bin = module.get_bin_path('drd', required=True)

    def command(self, args):
        cmd = [self.bin]
        if self.root:
            cmd += ['--root', self.root]
        return cmd + list(args)

    def run(self, args, ok=(EXIT_OK, EXIT_WARNING), environ=None):
        """Runs drd with args; returns (rc, stdout, stderr). An exit code not in ok raises DrdError."""
        cmd = self.command(args)
        env = {'LC_ALL': 'C'}
        env.update(environ or {})
        rc, out, err = self.module.run_command(cmd, environ_update=env)
        for w in warning_lines(err):
            self.module.warn('drd: ' + w)
        if rc not in ok:
            raise DrdError(error_message(['drd'] + list(args), rc, err), rc=rc, stdout=out, stderr=err, cmd=cmd)
        return rc, out, err

    def json(self, args, ok=(EXIT_OK, EXIT_WARNING)):
        """Runs drd with args (which ask for JSON); returns (rc, document, stderr)."""
        rc, out, err = self.run(args, ok=ok)
        return rc, parse_json(['drd'] + list(args), out), err

    def status(self):
        """drd status --json as a dict."""
        return self.json(['status', '--json'])[1]

    def fail(self, e, **result):
        """fail_json with drd's message, exit code and output."""
        self.module.fail_json(msg=e.msg, rc=e.rc, stdout=e.stdout, stderr=e.stderr,
                              cmd=e.cmd or [], **result)


def xopts(pairs):
    """-x name=value arguments for the (name, value) pairs whose value is set.

    A list value gives one -x per item; a bool gives true/false.
    """
    args = []
    for name, value in pairs:
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, bool):
                v = 'true' if v else 'false'
            args += ['-x', '%s=%s' % (name, v)]
    return args
