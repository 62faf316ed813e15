from datetime import timedelta

from db.identity import IdentityStore


async def test_a_revoked_token_is_refused_at_once_even_right_after_use(pool):
    identities = IdentityStore(pool)
    await identities.upsert_user("u1", "U One", "dispatcher")
    token = await identities.issue_token("u1")
    assert (await identities.verify(token)).user_id == "u1"
    assert await identities.revoke(token)
    assert await identities.verify(token) is None


async def test_a_revocation_announced_by_another_process_is_honoured_once_forgotten(pool):
    here, elsewhere = IdentityStore(pool), IdentityStore(pool)
    await here.upsert_user("u2", "U Two", "crew", unit_id="CB-ALS-01")
    token = await here.issue_token("u2")
    assert (await here.verify(token)).unit_id == "CB-ALS-01"
    assert await elsewhere.revoke_user("u2") == 1
    here.forget("u2")  # what the hub does with the AccessRevoked event
    assert await here.verify(token) is None


async def test_a_changed_role_is_seen_at_once(pool):
    identities = IdentityStore(pool)
    await identities.upsert_user("u3", "U Three", "crew", unit_id="CB-ALS-01")
    token = await identities.issue_token("u3", ttl=timedelta(minutes=5))
    assert (await identities.verify(token)).role == "crew"
    await identities.upsert_user("u3", "U Three", "dispatcher")
    assert (await identities.verify(token)).role == "dispatcher"
