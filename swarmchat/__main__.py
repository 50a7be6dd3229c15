"""`python -m swarmchat`."""

from swarmchat.cli import main

if __name__ == "__main__":
    main()
