"""Fusion latency: fused-answer wall time vs the slowest healthy provider, and the deadline.

Four providers behind litellm talk HTTP to a local fake (tests/adapters/fake_llm_servers.py)
with different latencies; in the second scenario one of them hangs. Run:
    .venv/bin/python bench/fusion.py [--runs 10] [--deadline 1.0]
Prints figures; exits non-zero when a target is missed (overhead <= 50 ms, deadline + 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.adapters.litellm_client import LiteLLMClient
from engine.advisor import Advisor
from engine.clock import SystemClock
from engine.fusion import SuggestionAnswer
from engine.llm_gateway import LLMGateway, RetryPolicy, make_call
from engine.models import Account
from engine.request import parse_request
from tests.adapters.fake_llm_servers import FakeLLMServer, hang, reply

PLATFORMS = ["tiktok", "youtube", "instagram"]
REQUEST = parse_request(
    {
        "content": {"id": "video-123", "caption": "Launch day", "type": "video"},
        "platforms": PLATFORMS,
        "start": datetime(2026, 12, 1, 14, tzinfo=UTC).isoformat(),
    }
)
ACCOUNTS = [Account(f"{p}-{i}", p, f"@{p}{i}", "UTC") for p in PLATFORMS for i in range(3)]
LATENCIES = {"gpt": 0.10, "claude": 0.20, "gemini": 0.30, "grok": 0.45}
TARGET_MS = 50.0
CALL = make_call("Advise.", {"platforms": PLATFORMS}, SuggestionAnswer)


def answer(order: list[str]) -> dict[str, object]:
    peaks = {"tiktok": [10, 14, 18, 20, 22], "youtube": [12, 18], "instagram": [9, 12, 17, 21]}
    return {
        "platform_order": order,
        "order_confidence": 0.8,
        "platforms": [
            {"platform": p, "peak_hours": h, "confidence": 0.8, "risk_notes": ["watch velocity"]}
            for p, h in peaks.items()
        ],
    }


def clients(server: FakeLLMServer) -> list[LiteLLMClient]:
    out = []
    for name in LATENCIES:
        if name == "claude":
            out.append(
                LiteLLMClient(name, f"anthropic/{name}", api_base=server.base_url, api_key="k")
            )
        else:
            out.append(
                LiteLLMClient(name, f"openai/{name}", api_base=f"{server.base_url}/v1", api_key="k")
            )
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(runs: int, deadline: float) -> int:
    server = await FakeLLMServer().start()
    failures = 0
    try:
        for name, delay in LATENCIES.items():
            server.script(name, reply(answer(PLATFORMS), delay=delay))
        pool = clients(server)
        slowest = pool[-1]
        # Warm up: litellm's import and each HTTP client's first connection.
        t0 = time.monotonic()
        for client in pool:
            await client.complete(CALL, timeout=30)
        gateway = LLMGateway(pool, SystemClock(), deadline_s=deadline, retry=RetryPolicy(1))
        advisor = Advisor(gateway)
        await advisor.suggest(REQUEST, ACCOUNTS)
        print(f"warm-up (litellm import + first connections): {time.monotonic() - t0:.2f} s")

        alone, fused = [], []
        for _ in range(runs):
            t = time.monotonic()
            await slowest.complete(CALL, timeout=deadline)  # the slowest provider, by itself
            alone.append(time.monotonic() - t)
            t = time.monotonic()
            result = await advisor.suggest(REQUEST, ACCOUNTS)
            fused.append(time.monotonic() - t)
            assert result.source == "fusion" and len(result.models_answered) == 4
        over = [(f - a) * 1000 for f, a in zip(fused, alone, strict=True)]
        print("\nScenario A: four healthy providers (100/200/300/450 ms)")
        print(f"  slowest provider alone: median {statistics.median(alone) * 1000:.1f} ms")
        print(
            f"  fused answer:           median {statistics.median(fused) * 1000:.1f} ms, "
            f"p90 {pct(fused, 0.9) * 1000:.1f} ms"
        )
        print(
            f"  overhead vs slowest:    median {statistics.median(over):.1f} ms, "
            f"p90 {pct(over, 0.9):.1f} ms (target <= {TARGET_MS:.0f} ms)"
        )
        if statistics.median(over) > TARGET_MS:
            failures += 1

        server.script("grok", hang())
        gateway = LLMGateway(
            pool, SystemClock(), deadline_s=deadline, retry=RetryPolicy(1), breaker_threshold=10**6
        )
        advisor = Advisor(gateway)
        walls = []
        for _ in range(max(3, runs // 2)):
            t = time.monotonic()
            result = await advisor.suggest(REQUEST, ACCOUNTS)
            walls.append(time.monotonic() - t)
            assert result.models_answered == ("gpt", "claude", "gemini"), result.models_answered
        late = [(w - deadline) * 1000 for w in walls]
        print(f"\nScenario B: grok hangs, deadline {deadline * 1000:.0f} ms")
        print(
            f"  fused answer: median {statistics.median(walls) * 1000:.1f} ms, "
            f"max {max(walls) * 1000:.1f} ms; past the deadline by at most {max(late):.1f} ms"
        )
        if max(late) > TARGET_MS:
            failures += 1

        gateway = LLMGateway(
            pool, SystemClock(), deadline_s=deadline, retry=RetryPolicy(1), breaker_threshold=2
        )
        advisor = Advisor(gateway)
        walls = []
        for _ in range(5):
            t = time.monotonic()
            await advisor.suggest(REQUEST, ACCOUNTS)
            walls.append(time.monotonic() - t)
        print("\nScenario C: grok hangs, circuit breaker after 2 failures")
        print(
            "  wall times: " + ", ".join(f"{w * 1000:.0f}" for w in walls) + " ms "
            "(after two deadline-bound calls grok is skipped)"
        )
        print(
            f"\nrecords kept: {len(gateway.records)}; per model: "
            + ", ".join(
                f"{m} {s['ok']:.0f} ok/{s['failed']:.0f} failed" for m, s in gateway.stats().items()
            )
        )
    finally:
        await server.close()
    print("\nresult:", "PASS" if failures == 0 else f"{failures} target(s) missed")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=1.0)
    args = parser.parse_args()
    return asyncio.run(run(args.runs, args.deadline))


if __name__ == "__main__":
    sys.exit(main())
