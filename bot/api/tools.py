"""Everything beside a distribution's lifecycle: accounts, velocity, trends, platform
selection, repurposing, language variants, a one-slot dry-run publish, analytics, the
audit log (all of it, and full-text search) and outbound webhook endpoints."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.api import schemas as s
from bot.api.core import Call, route
from bot.api.distributions import _event
from bot.api.problems import Problem
from bot.api.webhooks import check_target
from engine.adapters.public_download import BlockedUrl
from engine.models import Role
from engine.service_support import require_role

TOOLS = ("tools",)
LOG = ("audit log",)
HOOKS = ("webhooks",)


@route(
    "GET",
    "/analytics",
    scope="read",
    summary="Totals over recent distributions",
    response=s.AnyJson,
    tags=TOOLS,
)
async def analytics(call: Call) -> dict[str, Any]:
    result: dict[str, Any] = await call.ctx.service.analytics()
    return result


@route(
    "GET",
    "/accounts",
    scope="read",
    summary="Stored accounts (of one platform)",
    query=s.AccountsQuery,
    response=list[s.AccountOut],
    tags=TOOLS,
)
async def accounts(call: Call) -> list[s.AccountOut]:
    platform = call.query.platform.lower() if call.query.platform else None
    return [s.AccountOut.of(a) for a in await call.ctx.service.accounts(platform)]


@route(
    "GET",
    "/velocity",
    scope="read",
    summary="A platform's limits and the velocity its last week suggests (seed 001 #10)",
    query=s.VelocityQuery,
    response=s.AnyJson,
    tags=TOOLS,
)
async def velocity(call: Call) -> dict[str, Any]:
    profile = await call.ctx.service.velocity(call.query.platform.lower())
    return dict(profile.to_dict())


@route(
    "POST",
    "/trends",
    scope="read",
    summary="Trends for platforms from the configured source (seed 001 #11)",
    body=s.Trends,
    response=s.AnyJson,
    tags=TOOLS,
)
async def trends(call: Call) -> dict[str, Any]:
    found = await call.ctx.tools.trends([p.lower() for p in call.body.platforms])
    return {"trends": [asdict(t) for t in found]}


@route(
    "POST",
    "/platforms",
    scope="read",
    summary="Platforms in their optimal order for a content type (seed 001 #13)",
    body=s.Platforms,
    response=s.AnyJson,
    tags=TOOLS,
)
async def platforms(call: Call) -> dict[str, Any]:
    ranked = await call.ctx.tools.select_platforms(
        call.body.content_type, call.body.available_platforms
    )
    return {
        "optimal_platforms": [r["platform"] for r in ranked if r["score"] > 0],
        "scores": ranked,
    }


@route(
    "POST",
    "/repurpose",
    scope="read",
    summary="What each target platform receives of a content (seed 001 #8)",
    body=s.Repurpose,
    response=s.AnyJson,
    tags=TOOLS,
)
async def repurpose(call: Call) -> dict[str, Any]:
    b = call.body
    return {"repurposed": call.ctx.tools.repurpose(b.content, b.target_platforms, b.language)}


@route(
    "POST",
    "/language-variants",
    scope="read",
    summary="The caption in each target language (seed 001 #9)",
    body=s.Languages,
    response=s.AnyJson,
    tags=TOOLS,
)
async def language_variants(call: Call) -> dict[str, Any]:
    b = call.body
    return {"variants": await call.ctx.tools.language_variants(b.content, b.target_languages)}


@route(
    "POST",
    "/slots/{slot_id}/publish",
    scope="operate",
    summary="Dry-run one slot through the simulated publisher (nothing changes)",
    body=s.Publish,
    response=s.AnyJson,
    tags=TOOLS,
)
async def publish(call: Call) -> dict[str, Any]:
    if not call.body.simulate:
        raise Problem(
            403,
            "simulate: only dry runs here; real publishes happen through an approved run",
            field="simulate",
        )
    result: dict[str, Any] = await call.ctx.tools.dry_run_slot(call.actor, call.param("slot_id"))
    return result


@route(
    "GET",
    "/history",
    scope="read",
    summary="The whole audit log, newest first",
    query=s.HistoryQuery,
    response=list[s.EventOut],
    tags=LOG,
)
async def history(call: Call) -> list[s.EventOut]:
    return [_event(e) for e in await call.ctx.service.history(limit=call.query.limit)]


@route(
    "GET",
    "/events/search",
    scope="read",
    summary="Full-text search over the audit log, with filters (seed 001 memory search)",
    query=s.SearchQuery,
    response=list[s.EventOut],
    tags=LOG,
)
async def search(call: Call) -> list[s.EventOut]:
    q = call.query
    distribution = None
    if q.distribution:
        distribution = (await call.ctx.service.resolve(q.distribution)).id
    found = await call.ctx.events.search(
        q.query,
        kinds=[k.strip() for k in q.kind.split(",") if k.strip()] if q.kind else (),
        distribution_id=distribution,
        account_id=q.account,
        since=q.since,
        until=q.until,
        limit=q.limit,
    )
    return [s.EventOut(**item.to_json()) for item in found]


# --- outbound webhooks (approvers only: they receive every subscribed event)
def _hook(endpoint: Any, secret: str | None = None) -> s.WebhookOut:
    # The URL in full only in the create's answer (with the secret): it may hold one too.
    return s.WebhookOut(**endpoint.to_json(full_url=secret is not None), secret=secret)


@route(
    "GET",
    "/webhooks",
    scope="approve",
    summary="Webhook endpoints",
    response=list[s.WebhookOut],
    tags=HOOKS,
)
async def list_webhooks(call: Call) -> list[s.WebhookOut]:
    require_role(call.actor, Role.APPROVER, "see webhooks")
    return [_hook(e) for e in await call.ctx.webhooks.list()]


@route(
    "POST",
    "/webhooks",
    scope="approve",
    summary="Add an endpoint; the answer carries its signing secret, once",
    body=s.WebhookIn,
    response=s.WebhookOut,
    status=201,
    tags=HOOKS,
)
async def add_webhook(call: Call) -> s.WebhookOut:
    require_role(call.actor, Role.APPROVER, "add a webhook")
    try:
        check_target(call.body.url, allow_private=call.ctx.deps.settings.webhook_allow_private_urls)
    except BlockedUrl as exc:
        raise Problem(422, str(exc), field="url") from None
    endpoint, secret = await call.ctx.webhooks.add(
        call.body.url,
        tuple(call.body.events),
        call.actor.id,
        call.ctx.clock.now(),
        via=call.actor.via,
    )
    return _hook(endpoint, secret)


@route(
    "DELETE",
    "/webhooks/{webhook_id}",
    scope="approve",
    summary="Remove an endpoint",
    response=s.AnyJson,
    tags=HOOKS,
)
async def remove_webhook(call: Call) -> dict[str, Any]:
    hook_id, dropped = await _change_webhook(call, "remove")
    return {"removed": hook_id, "dropped_deliveries": dropped}


@route(
    "POST",
    "/webhooks/{webhook_id}/enable",
    scope="approve",
    summary="Enable an endpoint again: deliveries kept while it was disabled go, in order",
    response=s.AnyJson,
    tags=HOOKS,
)
async def enable_webhook(call: Call) -> dict[str, Any]:
    hook_id, requeued = await _change_webhook(call, "enable")
    return {"id": hook_id, "enabled": True, "changed": requeued is not None, "requeued": requeued}


@route(
    "POST",
    "/webhooks/{webhook_id}/disable",
    scope="approve",
    summary="Disable an endpoint: its deliveries are kept until it is enabled",
    response=s.AnyJson,
    tags=HOOKS,
)
async def disable_webhook(call: Call) -> dict[str, Any]:
    hook_id, changed = await _change_webhook(call, "disable")
    return {"id": hook_id, "enabled": False, "changed": changed}


async def _change_webhook(call: Call, action: str) -> tuple[str, Any]:
    """Approvers only: the store's `action` (remove, enable, disable) on the path's
    endpoint, audited as the caller and the token used; (its id, the store's answer)."""
    require_role(call.actor, Role.APPROVER, f"{action} a webhook")
    hook_id = call.param("webhook_id")
    change = getattr(call.ctx.webhooks, action)
    now = call.ctx.clock.now()
    return hook_id, await change(hook_id, by=call.actor.id, now=now, via=call.actor.via)
