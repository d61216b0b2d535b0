"""A handler process for the tests: serves endpoint ``argv[2]`` (function ``hang``, which waits
until cancelled) through the weftd at ``argv[1]``, prints ``serving`` and waits until killed."""

import sys

import weft

if __name__ == "__main__":
    address, name = sys.argv[1], sys.argv[2]
    endpoint = weft.Endpoint(name)

    @endpoint.function
    def hang():
        weft.current_call().wait_cancelled()
        return None

    server = weft.Client(address).serve(endpoint)
    print("serving", flush=True)
    server.wait()
