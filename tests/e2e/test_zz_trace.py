import pytest
from sqlalchemy import event
from tests.e2e.conftest import PairFactory
from tests.support import drain_outbox

@pytest.mark.parametrize("pair_factory", ["postgresql"], indirect=True)
async def test_trace(pair_factory: PairFactory) -> None:
    async with pair_factory() as pair:
        r = await pair.send("1"); assert r.status_code == 200
        await drain_outbox(pair.payer.runtime, pair.payee.runtime)
        log = []
        for name, side in (("PAYER", pair.payer), ("PAYEE", pair.payee)):
            eng = side.runtime.store.engine.sync_engine
            event.listen(eng, "begin", lambda c, n=name: log.append(f"{n} BEGIN"))
            event.listen(eng, "commit", lambda c, n=name: log.append(f"{n} COMMIT"))
            event.listen(eng, "before_cursor_execute", lambda c, cur, s, p, ctx, m, n=name: log.append(f"{n}   " + " ".join(s.split())[:150]))
        r = await pair.send("1"); assert r.status_code == 200
        await drain_outbox(pair.payer.runtime, pair.payee.runtime)
        print("\n".join(log))
