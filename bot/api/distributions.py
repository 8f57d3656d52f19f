"""/distributions: create, plan, simulate, decide, run and read, through the same
`DistributionService` methods Slack's listeners call (roles and safety modes apply there)."""

from __future__ import annotations

from typing import Any

from bot.api import schemas as s
from bot.api.core import Call, route
from bot.api.problems import Problem
from engine.errors import InvalidInput
from engine.item_report import item_report
from engine.models import DistributionStatus, SafetyMode, SlotStatus
from engine.request import DistributionRequest

ID = "/distributions/{id}"
TAGS = ("distributions",)


def _enum(enum: Any, value: str | None, field: str) -> Any:
    if value is None:
        return None
    try:
        return enum(value.upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise Problem(422, f"{field}: {value!r} is not one of {allowed}", field=field) from None


@route(
    "POST",
    "/distributions",
    scope="operate",
    summary="Create a DRAFT distribution (body: the `herald plan` request JSON)",
    body=DistributionRequest,
    query=s.CreateQuery,
    response=s.DistributionOut,
    status=201,
    idempotent=True,
    tags=TAGS,
)
async def create(call: Call) -> s.DistributionOut:
    mode = _enum(SafetyMode, call.query.safety_mode, "safety_mode")
    for platform in call.body.platforms:
        try:
            call.ctx.deps.herald.platforms[platform]
        except InvalidInput as exc:
            raise Problem(422, f"platforms: {exc}", field="platforms") from None
    d = await call.ctx.service.create(
        call.actor, call.body, origin={"api_token": call.token.id}, safety_mode=mode
    )
    return s.DistributionOut.of(d)


@route(
    "GET",
    "/distributions",
    scope="read",
    summary="Distributions, newest first",
    query=s.ListQuery,
    response=list[s.DistributionOut],
    tags=TAGS,
)
async def list_(call: Call) -> list[s.DistributionOut]:
    status = _enum(DistributionStatus, call.query.status, "status")
    found = await call.ctx.service.list([status] if status else None, call.query.limit)
    return [s.DistributionOut.of(d) for d in found]


@route(
    "GET",
    ID,
    scope="read",
    summary="One distribution (id or name)",
    response=s.DistributionOut,
    tags=TAGS,
)
async def get(call: Call) -> s.DistributionOut:
    return s.DistributionOut.of(await call.ctx.service.resolve(call.param("id")))


@route(
    "POST",
    f"{ID}/plan",
    scope="operate",
    summary="Plan it (AWAITING_APPROVAL)",
    response=s.PlanOut,
    tags=TAGS,
)
async def plan(call: Call) -> s.PlanOut:
    view = await call.ctx.service.plan(call.actor, call.param("id"))
    return s.PlanOut(
        distribution=s.DistributionOut.of(view.distribution),
        slots=[s.SlotOut.of(x) for x in view.slots],
        unscheduled=[{"account_id": u.account_id, "reason": u.reason} for u in view.unscheduled],
        warnings=list(view.warnings),
        items=[s.ItemOut(**i) for i in item_report(view.distribution.request, view.slots)],
    )


@route(
    "POST",
    f"{ID}/simulate",
    scope="operate",
    summary="The simulation report of the stored plan, with per-item figures (`items`)",
    response=s.SimulationOut,
    tags=TAGS,
)
async def simulate(call: Call) -> s.SimulationOut:
    report = await call.ctx.service.simulate(call.actor, call.param("id"))
    return s.SimulationOut.model_validate(report)


def _lifecycle(action: str, scope: str, summary: str, body: type[s.Strict] | None) -> None:
    """Declare `POST /distributions/{id}/<action>`: the service method of that name, called
    with the body's fields as keywords, the distribution as the answer."""

    async def change(call: Call) -> s.DistributionOut:
        fields = call.body.model_dump() if body is not None else {}
        method = getattr(call.ctx.service, action)
        return s.DistributionOut.of(await method(call.actor, call.param("id"), **fields))

    change.__name__ = change.__qualname__ = action
    route(
        "POST",
        f"{ID}/{action}",
        scope=scope,
        summary=summary,
        body=body,
        response=s.DistributionOut,
        tags=TAGS,
    )(change)


# One shape, one definition: the body's field names are the service method's keywords.
for _action, _scope, _summary, _body in (
    (
        "approve",
        "approve",
        "Approve the plan and start it (approvers; not the plan's author)",
        s.Note,
    ),
    ("reject", "approve", "Reject the plan with a reason", s.Reject),
    ("start", "operate", "Start an approved run (FULL_AUTONOMOUS: a planned one)", None),
    ("pause", "operate", "Pause the run", s.MaybeReason),
    ("resume", "operate", "Resume a paused run (a halted one needs an approver)", None),
    ("cancel", "operate", "Cancel: every slot not yet claimed is cancelled", s.MaybeReason),
    ("halt", "approve", "Emergency stop with a reason (approvers)", s.Reason),
):
    _lifecycle(_action, _scope, _summary, _body)


@route(
    "POST",
    f"{ID}/retry-failed",
    scope="operate",
    summary="Re-plan failed slots (requeue, or move to another account)",
    response=s.Retried,
    tags=TAGS,
)
async def retry_failed(call: Call) -> s.Retried:
    key = call.param("id")
    count = await call.ctx.service.retry_failed(call.actor, key)
    return s.Retried(
        retried=count, distribution=s.DistributionOut.of(await call.ctx.service.resolve(key))
    )


@route(
    "POST",
    f"{ID}/run",
    scope="operate",
    summary="Seed 001's run: simulate=true rehearses every open slot through the simulated "
    "publisher (nothing changes); simulate=false starts the approved run",
    body=s.Run,
    response=s.RunResult,
    tags=TAGS,
)
async def run(call: Call) -> s.RunResult:
    key = call.param("id")
    if call.body.simulate:
        d = await call.ctx.service.resolve(key)
        results = await call.ctx.tools.rehearse(call.actor, d.id)
        return s.RunResult(distribution_id=d.id, simulated=True, results=results)
    d = await call.ctx.service.start(call.actor, key)
    return s.RunResult(distribution_id=d.id, simulated=False, distribution=s.DistributionOut.of(d))


@route(
    "GET",
    f"{ID}/status",
    scope="read",
    summary="Where the run stands",
    response=s.StatusOut,
    tags=TAGS,
)
async def status(call: Call) -> s.StatusOut:
    return s.StatusOut.of(await call.ctx.status(call.param("id")))


@route(
    "GET",
    f"{ID}/progress",
    scope="read",
    summary="Detailed progress: counts per platform and status, percent done",
    response=s.AnyJson,
    tags=TAGS,
)
async def progress(call: Call) -> dict[str, Any]:
    slots = await call.ctx.service.progress(call.param("id"))
    per: dict[str, dict[str, int]] = {}
    for slot in slots:
        counts = per.setdefault(slot.platform, {})
        counts[str(slot.status)] = counts.get(str(slot.status), 0) + 1
    open_ = {SlotStatus.PLANNED, SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED, SlotStatus.CLAIMED}
    done = sum(1 for x in slots if x.status not in open_)
    return {
        "total": len(slots),
        "done": done,
        "percent": round(100 * done / len(slots), 1) if slots else 100.0,
        "platforms": per,
        "last_published_at": max(
            (x.executed_at.isoformat() for x in slots if x.executed_at), default=None
        ),
    }


@route(
    "GET",
    f"{ID}/slots",
    scope="read",
    summary="Slots, filtered by platform, status and account",
    query=s.SlotsQuery,
    response=s.SlotPage,
    tags=TAGS,
)
async def slots(call: Call) -> s.SlotPage:
    q = call.query
    wanted = _enum(SlotStatus, q.status, "status")
    found = [
        x
        for x in await call.ctx.service.progress(call.param("id"))
        if (q.platform is None or x.platform == q.platform.lower())
        and (wanted is None or x.status == wanted)
        and (q.account is None or x.account_id == q.account)
    ]
    page = found[q.offset : q.offset + q.limit]
    return s.SlotPage(total=len(found), slots=[s.SlotOut.of(x) for x in page])


@route(
    "GET",
    f"{ID}/history",
    scope="read",
    summary="The distribution's audit log, newest first",
    query=s.HistoryQuery,
    response=list[s.EventOut],
    tags=TAGS,
)
async def history(call: Call) -> list[s.EventOut]:
    events = await call.ctx.service.history(key=call.param("id"), limit=call.query.limit)
    return [_event(e) for e in events]


def _event(e: Any) -> s.EventOut:
    return s.EventOut(
        id=e.id,
        at=e.at,
        kind=e.kind,
        actor=e.actor,
        distribution_id=e.distribution_id,
        slot_id=e.slot_id,
        account_id=e.account_id,
        before=e.before,
        after=e.after,
        data=e.data,
    )
