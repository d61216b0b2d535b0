"""Context(obj=existing): the wrapped object keeps working; assignments are recorded and shadow.

The behaviour, exactly:
- reading an attribute returns the field set through the context if there is one, else the
  wrapped object's attribute (methods come bound to the object, properties are evaluated on
  the object, so they see the object's own state, never the context's fields);
- assigning records a field (one UPDATE) and shadows the object's attribute of that name,
  read-only properties included; the wrapped object is never modified;
- ``del`` removes a recorded field (one DELETE) and uncovers the object's attribute again;
  deleting an attribute that only the object has raises AttributeError and sends nothing;
- the Context API names win over the object's (``close``, ``update``...): the object's are
  reachable through ``ctx.obj``; the object's own state is not published.
"""

from __future__ import annotations

import pytest

import weft
from helpers import published, unique_key


class MyObj:
    x = 1

    def __init__(self):
        self.instance_attr = "i"
        self.closed_calls = 0

    @property
    def y(self):
        return 2

    def f(self):
        return 3

    def reads_x(self):
        return self.x

    def close(self):
        self.closed_calls += 1


def test_proxy_keeps_methods_and_properties_and_shadows_assignments(client):
    original = MyObj()
    proxy = weft.Context(obj=original, name=unique_key(), client=client)
    assert proxy.f() == 3 and proxy.y == 2 and proxy.x == 1 and proxy.instance_attr == "i"
    assert proxy.obj is original

    proxy.y = 10  # a read-only property: shadowed, not an error
    proxy.x = 111
    proxy.new_attr = "n"
    assert proxy.y == 10 and proxy.x == 111 and proxy.new_attr == "n"
    assert original.y == 2 and original.x == 1 and not hasattr(original, "new_attr")
    assert proxy.reads_x() == 1  # methods run on the object and see its own state

    del proxy.x  # uncovers the object's attribute
    assert proxy.x == 1
    with pytest.raises(AttributeError, match="belongs to the wrapped object"):
        del proxy.f
    with pytest.raises(AttributeError):
        proxy.missing

    proxy.close()  # the Context's close, not the object's
    assert original.closed_calls == 0
    proxy.obj.close()
    assert original.closed_calls == 1

    obj = published(client, proxy.id)
    assert obj.fields == {"y": 10, "new_attr": "n"}  # the object's own state is not published
    assert obj.event_count == 6  # BORN, 3 UPDATEs, DELETE, FINISHED


def test_proxy_with_initial_context_and_str(client):
    key = unique_key()
    proxy = weft.Context(obj=MyObj(), name=key, context={"seed": 7}, client=client)
    assert proxy.seed == 7 and str(proxy) == key and "MyObj" in repr(proxy)
    proxy.close()
    assert published(client, proxy.id).fields == {"seed": 7}


def test_proxy_of_a_dict_links_by_id_when_used_as_a_value(client):
    wrapped = weft.Context(obj={"k": "v"}, name=unique_key(), client=client)
    assert wrapped.get("k") == "v"  # dict methods through the proxy
    holder = weft.Context(name=unique_key(), context={"ref": wrapped}, client=client)
    holder.close()
    wrapped.close()
    assert published(client, holder.id).fields == {"ref": wrapped.id}
