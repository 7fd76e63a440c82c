# -*- coding: utf-8 -*-

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """The options every drd.drd module documents alike."""

    # drd's --root, which every module takes.
    DOCUMENTATION = r'''
options:
  root:
    description:
      - drd's C(--root DIR), the root of the system image drd acts on.
        Left out, drd acts on the running system.
    type: path
'''

    # drd's -x efi_vars=, for the modules whose command may write UEFI
    # variables (drd_activate, drd_clone).
    EFI_VARS = r'''
options:
  efi_vars:
    description: C(-x efi_vars=), whose UEFI variables drd writes.
    type: str
    choices: [auto, host, none]
'''
