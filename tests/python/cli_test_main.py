"""The command line the CTest entries give the Python CLI tests (--tern, --shared, --tmp, and optionally
--smollm2), parsed once, then unittest on the rest."""
import argparse
import os
import sys
import unittest


def run(module, smollm2=False):
    """Parses the arguments into module.ARGS and runs the module's tests."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--tmp", required=True)
    if smollm2:
        ap.add_argument("--smollm2", required=True)
    module.ARGS, rest = ap.parse_known_args()
    os.makedirs(module.ARGS.tmp, exist_ok=True)
    unittest.main(module=module, argv=[sys.argv[0], *rest])
