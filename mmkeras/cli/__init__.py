"""The command line, `python -m mmkeras ...`: it parses and dispatches only.

`parser` checks the arguments without loading TensorFlow (`--help` answers at
once); `commands` and `retrieve` call the library.
"""

import sys

from mmkeras.cli import commands
from mmkeras.cli.parser import build_parser
from mmkeras.cli.retrieve import retrieve

COMMANDS = {"compare": commands.compare, "train": commands.train,
            "evaluate": commands.evaluate, "predict": commands.predict, "info": commands.info,
            "demo": commands.demo, "retrieve": retrieve}


def user_errors():
    """What a user's mistake raises (a bad value, a missing or corrupt file): one line,
    no traceback. Anything else is a bug and keeps its traceback."""
    import zipfile

    return (ValueError, TypeError, OSError, ImportError, zipfile.BadZipFile)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a not in ("--debug", "--tf-logs")]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "csv", None) is not None:
            commands.check_table(args.csv)
        from mmkeras.utils import tf_logging

        tf_logging.import_tensorflow_quietly()  # before a command loads the library
        tf_logging.quiet_python_loggers()
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        # Ctrl-C: one line, no traceback; a study says how to resume.
        out = getattr(args, "out", None) if args.command == "compare" else None
        resume = (f"; the finished runs are kept in {out}/, and the same command resumes the "
                  "study" if out else "")
        print(f"{parser.prog}: interrupted{resume}", file=sys.stderr)
        return 130
    except user_errors() as err:
        if debug:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        if len(message) > 4000:  # a deep Keras message; --debug shows all of it
            message = message[:4000] + " ..."
        print(f"{parser.prog}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return 2
