"""What the CLI tests share: running ``steepest ...`` in-process and capturing what it says."""

from __future__ import annotations

from steepest import cli


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``steepest argv...`` in-process; argparse's own exits are caught as exit codes.

    Returns
    -------
    (exit status, standard output, standard error)
    """
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err
