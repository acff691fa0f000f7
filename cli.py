"""`python cli.py ...` is the same as `longvid ...` (the Typer app lives in longvid/cli/)."""

from longvid.cli import main

if __name__ == "__main__":
    main()
