"""`python -m tracker` entry point."""

from tracker.cli import main

if __name__ == "__main__":
    main()
