"""A receiving process for the tests: opens a receiver through the weftd at ``argv[1]`` as client
``victim``, prints ``handle <handle>`` and reads until killed."""

import sys

import weft

if __name__ == "__main__":
    client = weft.Client(sys.argv[1], client_id="victim")
    receiver = client.open_receiver()
    print("handle", receiver.handle, flush=True)
    for _ in receiver:
        pass
