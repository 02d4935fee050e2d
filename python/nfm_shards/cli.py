"""``python -m nfm_shards``: verify, export-libfm, to-parquet — with nfm's messages and exit statuses
(0 ok, 2 usage, 3 I/O, 4 integrity)."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .errors import EXIT_INTEGRITY, EXIT_USAGE, NFMError


def _verify(args) -> int:
    from .verify import verify

    report = verify(args.directory)
    for problem in report.problems:
        sys.stderr.write(f"{args.directory}/{problem}\n")
    if not report.ok:
        sys.stderr.write(f"verify failed: {len(report.problems)} problem(s) in {args.directory}\n")
        return EXIT_INTEGRITY
    if not args.quiet:
        manifest = report.manifest
        instances = sum(int(manifest["counts"][s]) for s in ("train", "validation", "test"))
        print(f"ok: {args.directory}: {report.files_checked} files, {len(manifest['shards'])} shards,"
              f" {instances} instances verified")
    return 0


def _export_libfm(args) -> int:
    from .libfm import export_libfm

    export_libfm(args.directory, args.output, force=args.force)
    return 0


def _to_parquet(args) -> int:
    from .parquet import to_parquet

    to_parquet(args.directory, args.output, force=args.force)
    return 0


def parser() -> argparse.ArgumentParser:
    """The command-line parser (subcommands verify, export-libfm, to-parquet)."""
    main_parser = argparse.ArgumentParser(prog="python -m nfm_shards", description="Read nfm datasets from Python.")
    commands = main_parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check every file of a dataset against its manifest (exit 4 if not)")
    verify.add_argument("directory")
    verify.add_argument("--quiet", action="store_true", help="print only problems")
    verify.set_defaults(run=_verify)
    for name, run, help_text in (
        ("export-libfm", _export_libfm, "write train/validation/test.libfm, byte-identical to nfm export-libfm"),
        ("to-parquet", _to_parquet, "write one zstd Parquet file per split"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("directory")
        command.add_argument("output")
        command.add_argument("--force", action="store_true", help="replace existing output files")
        command.set_defaults(run=run)
    return main_parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else 0
    try:
        return args.run(args)
    except NFMError as error:
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code
