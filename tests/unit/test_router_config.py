"""The routing configuration file: its defaults, a full valid file, every class of
mistake reported with its path, capacity clamping and which domain routes a queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.router.config import (
    ConfigError,
    Overflow,
    QueuePolicy,
    Relaxation,
    RoutingConfig,
    default_config,
    parse_config,
)
from services.runtime.settings import CLOSED_HORIZON_S, SettingsError, from_env

FULL = """
[routing]
tick_ms = 100
max_async = 4
default_capacity = { voice = 1, chat = 1, messaging = 6, email = 3 }
mixing = { voice = ["voice", "chat", "messaging"] }
prefer_previous_agent_s = 600
forget_after_s = 3600

[priority]
negative_sentiment = 1
sla_at_risk = 4

[domains.care]
queues = ["billing", "tech"]
agent_skills = ["billing", "tech"]

[domains.sales]
queues = ["*"]

[queues.default]
strategy = "least_occupied"
offer_timeout_s = 15

[queues.billing]
strategy = "most_proficient"
auto_accept = true
decline_exclusion_s = 30
sla_at_risk_after_s = 120
overflow = { after_s = 300, to = "tier2" }

[[queues.billing.relax]]
after_s = 30
lower_by = 2

[[queues.billing.relax]]
after_s = 90
drop = ["french"]
"""


def problems_of(text: str) -> list[str]:
    """The problems `parse_config` reports for `text` (which must be invalid)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


def test_an_empty_file_gives_the_defaults() -> None:
    config = parse_config("")
    assert config == default_config()
    assert (config.routing.tick_ms, config.routing.max_async) == (250, 8)
    assert config.routing.default_capacity["messaging"] == 8
    assert config.routing.mixing["voice"] == ("voice", "chat")
    assert (config.priority.negative_sentiment, config.priority.sla_at_risk) == (2, 3)
    assert list(config.domains) == ["default"]
    assert config.domains["default"].queues == ("*",)
    assert config.queues == {}


def test_the_example_file_is_valid_and_states_the_defaults() -> None:
    example = Path(__file__).parents[2] / "services" / "router" / "routing.example.toml"
    config = parse_config(example.read_text(encoding="utf-8"))
    defaults = default_config()
    assert (config.routing, config.priority) == (defaults.routing, defaults.priority)
    assert config.domains == defaults.domains
    assert config.policy("anything") == QueuePolicy()
    assert config.policy("tier2").required_skills == {"tier2": 1}


def test_finished_conversations_are_forgotten_after_the_workers_horizon_unless_the_file_says() -> None:
    assert default_config().forget_after_s == CLOSED_HORIZON_S == 8 * 86_400
    assert default_config(closed_horizon_s=60).forget_after_s == 60
    assert parse_config("", closed_horizon_s=60).forget_after_s == 60
    assert parse_config("[routing]\nforget_after_s = 90\n", closed_horizon_s=60).forget_after_s == 90


def test_the_horizon_is_one_setting_from_the_environment() -> None:
    assert from_env({}).closed_horizon_s == CLOSED_HORIZON_S
    assert from_env({"SWITCHBOARD_CLOSED_HORIZON_S": "0.5"}).closed_horizon_s == 0.5
    assert from_env({"SWITCHBOARD_SWEEP_EVERY_S": "2"}).sweep_every_s == 2
    for bad in ("soon", "0", "-1"):
        with pytest.raises(SettingsError, match="SWITCHBOARD_CLOSED_HORIZON_S"):
            from_env({"SWITCHBOARD_CLOSED_HORIZON_S": bad})


def test_a_queue_without_a_table_gets_the_default_policy() -> None:
    policy = default_config().policy("billing")
    assert policy == QueuePolicy()
    assert (policy.strategy, policy.offer_timeout_s, policy.auto_accept) == ("longest_idle", 20.0, False)
    assert (policy.decline_exclusion_s, policy.relax, policy.overflow) == (60.0, (), None)


def test_a_full_file_is_read_into_every_setting() -> None:
    config = parse_config(FULL)
    assert (config.routing.tick_ms, config.routing.max_async) == (100, 4)
    assert config.routing.default_capacity == {"voice": 1, "chat": 1, "messaging": 6, "email": 3}
    assert config.routing.mixing == {"voice": ("voice", "chat", "messaging")}
    assert (config.routing.prefer_previous_agent_s, config.forget_after_s) == (600, 3600)
    assert (config.priority.negative_sentiment, config.priority.sla_at_risk) == (1, 4)
    assert config.domains["care"].agent_skills == ("billing", "tech")
    billing = config.policy("billing")
    assert (billing.strategy, billing.auto_accept, billing.decline_exclusion_s) == (
        "most_proficient", True, 30)
    assert billing.sla_at_risk_after_s == 120
    assert billing.overflow == Overflow(after_s=300, to="tier2")
    assert billing.relax == (Relaxation(after_s=30, lower_by=2), Relaxation(after_s=90, drop=("french",)))


def test_queues_without_a_table_take_the_files_default_table() -> None:
    config = parse_config(FULL)
    assert config.policy("tier2").strategy == "least_occupied"
    assert config.policy("tier2").offer_timeout_s == 15


@pytest.mark.parametrize(("text", "expected"), [
    ("[routing]\ntick_msx = 3\n", "routing.tick_msx: Extra inputs are not permitted"),
    ("colour = 'blue'\n", "colour: Extra inputs are not permitted"),
    ("[queues.billing]\nstratgy = 'longest_idle'\n", "queues.billing.stratgy: Extra inputs"),
    ("[[queues.billing.relax]]\nafter_s = 5\nraise_by = 1\n", "queues.billing.relax.0.raise_by: Extra"),
    ("[domains.care]\nagents = ['a1']\n", "domains.care.agents: Extra inputs are not permitted"),
], ids=["routing", "top-level", "queue", "relax-ring", "domain"])
def test_an_unknown_key_is_named_with_its_path(text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems_of(text)), problems_of(text)


@pytest.mark.parametrize(("text", "path"), [
    ("[routing]\ntick_ms = 'fast'\n", "routing.tick_ms"),
    ("[routing]\ndefault_capacity = { chat = 'one' }\n", "routing.default_capacity.chat"),
    ("[queues.billing]\nauto_accept = 'sometimes'\n", "queues.billing.auto_accept"),
    ("[queues.billing]\nstrategy = 'random'\n", "queues.billing.strategy"),
    ("[domains.care]\nqueues = 'billing'\n", "domains.care.queues"),
    ("[queues.billing]\noverflow = 'tier2'\n", "queues.billing.overflow"),
], ids=["int", "dict-value", "bool", "strategy", "list", "table"])
def test_a_value_of_the_wrong_type_is_named_with_its_path(text: str, path: str) -> None:
    assert [p.split(":")[0] for p in problems_of(text)] == [path]


@pytest.mark.parametrize(("text", "path", "bound"), [
    ("[routing]\ntick_ms = 5\n", "routing.tick_ms", "greater than or equal to 10"),
    ("[routing]\nmax_async = 51\n", "routing.max_async", "less than or equal to 50"),
    ("[routing]\nforget_after_s = 0\n", "routing.forget_after_s", "greater than 0"),
    ("[priority]\nsla_at_risk = 11\n", "priority.sla_at_risk", "less than or equal to 10"),
    ("[queues.billing]\noffer_timeout_s = 0\n", "queues.billing.offer_timeout_s", "greater than 0"),
    ("[queues.billing]\ndecline_exclusion_s = -1\n", "queues.billing.decline_exclusion_s",
     "greater than or equal to 0"),
    ("[[queues.billing.relax]]\nafter_s = 10\nlower_by = 11\n", "queues.billing.relax.0.lower_by",
     "less than or equal to 10"),
    ("[queues.billing]\noverflow = { after_s = 0, to = 'tier2' }\n", "queues.billing.overflow.after_s",
     "greater than 0"),
    ("[queues.tier2]\nrequired_skills = { tier2 = 0 }\n", "queues.tier2.required_skills.tier2",
     "greater than or equal to 1"),
], ids=["tick", "max-async", "forget", "priority", "timeout", "exclusion", "lower-by", "overflow",
        "queue-skill"])
def test_an_out_of_range_value_is_named_with_its_path_and_bound(text: str, path: str, bound: str) -> None:
    (problem,) = problems_of(text)
    assert problem.startswith(f"{path}: ") and bound in problem, problem


def test_every_field_problem_is_reported_at_once() -> None:
    problems = problems_of("[routing]\ntick_ms = 1\nmax_async = 'x'\n[priority]\nvip = 3\n")
    assert [p.split(":")[0] for p in problems] == ["routing.tick_ms", "routing.max_async", "priority.vip"]


def test_text_that_is_not_toml_says_so_with_the_line() -> None:
    (problem,) = problems_of("[routing\ntick_ms = 100\n")
    assert problem.startswith("not valid TOML: ") and "line 1" in problem


def test_the_error_message_lists_every_problem() -> None:
    with pytest.raises(ConfigError, match=r"(?s)routing\.tick_ms.*routing\.max_async"):
        parse_config("[routing]\ntick_ms = 1\nmax_async = 0\n")


def test_a_queue_routed_by_two_domains_is_refused() -> None:
    text = "[domains.a]\nqueues = ['billing']\n[domains.b]\nqueues = ['tech', 'billing']\n"
    assert problems_of(text) == [
        "domains.b.queues: 'billing' is already routed by domain 'a'; a queue has one router"]


def test_two_domains_taking_every_other_queue_are_refused() -> None:
    (problem,) = problems_of("[domains.a]\nqueues = ['*']\n[domains.b]\n")
    assert problem.startswith("domains.b.queues: '*' is already routed by domain 'a'")


def test_a_queue_overflowing_into_itself_is_refused() -> None:
    text = "[queues.billing]\noverflow = { after_s = 10, to = 'billing' }\n"
    assert problems_of(text) == ["queues.billing.overflow.to: a queue cannot overflow into itself"]


def test_an_overflow_cycle_is_refused_with_its_path() -> None:
    text = """
[queues.a]
overflow = { after_s = 10, to = "b" }
[queues.b]
overflow = { after_s = 10, to = "c" }
[queues.c]
overflow = { after_s = 10, to = "a" }
"""
    problems = problems_of(text)
    assert "queues.a.overflow: cycle a -> b -> c -> a" in problems
    assert all(p.startswith(("queues.a.", "queues.b.", "queues.c.")) for p in problems)


def test_an_overflow_chain_without_a_cycle_is_accepted() -> None:
    config = parse_config("""
[queues.a]
overflow = { after_s = 10, to = "b" }
[queues.b]
overflow = { after_s = 10, to = "c" }
""")
    assert config.policy("c").overflow is None


def test_a_default_overflow_into_a_queue_without_its_own_table_is_refused() -> None:
    """`tier2` has no table, so it takes `[queues.default]` and would overflow into itself
    on every pass, never to be offered."""
    problems = problems_of("[queues.default]\noverflow = { after_s = 10, to = 'tier2' }\n")
    assert len(problems) == 1 and problems[0].startswith("queues.default.overflow"), problems
    assert "tier2" in problems[0]


def test_a_default_overflow_into_a_queue_with_its_own_table_is_accepted() -> None:
    config = parse_config("""
[queues.default]
overflow = { after_s = 10, to = "tier2" }
[queues.tier2]
strategy = "most_proficient"
""")
    assert config.policy("billing").overflow == Overflow(after_s=10, to="tier2")
    assert config.policy("tier2").overflow is None


def test_a_cycle_through_the_default_table_is_refused() -> None:
    problems = problems_of("""
[queues.default]
overflow = { after_s = 10, to = "tier2" }
[queues.tier2]
overflow = { after_s = 10, to = "tier3" }
""")
    assert any("tier2 -> tier3 -> tier2" in p for p in problems), problems


def test_relaxation_steps_out_of_order_are_refused() -> None:
    text = "[[queues.billing.relax]]\nafter_s = 60\n[[queues.billing.relax]]\nafter_s = 30\n"
    assert problems_of(text) == ["queues.billing.relax: steps must be in increasing after_s order"]


@pytest.mark.parametrize(("stated", "channel", "expected"), [
    ({"chat": 3}, "chat", 1),
    ({"voice": 2}, "voice", 1),
    ({"chat": 0}, "chat", 0),
    ({"messaging": 5}, "messaging", 5),
    ({"messaging": 20}, "messaging", 8),
    ({}, "messaging", 8),
    ({}, "email", 5),
    ({}, "voice", 1),
    ({"chat": 1}, "email", 5),
], ids=["chat-clamped", "voice-clamped", "chat-zero", "async-stated", "async-clamped",
        "default-messaging", "default-email", "default-voice", "other-channel-default"])
def test_capacity_clamps_sync_to_one_and_async_to_max_async(
        stated: dict[str, int], channel: str, expected: int) -> None:
    assert default_config().capacity(stated, channel) == expected


def test_capacity_follows_the_configured_max_async_and_defaults() -> None:
    config = parse_config("[routing]\nmax_async = 3\ndefault_capacity = { email = 2 }\n")
    assert config.capacity({"messaging": 8}, "messaging") == 3
    assert config.capacity({}, "email") == 2
    assert config.capacity({}, "messaging") == 0


@pytest.mark.parametrize(("queue", "domain"), [
    ("billing", "care"), ("tech", "care"), ("sales", "sales"), ("anything", "sales"),
])
def test_named_queues_go_to_their_domain_and_others_to_the_star_domain(queue: str, domain: str) -> None:
    assert parse_config(FULL).domain_of(queue) == domain


def test_a_named_queue_wins_over_an_earlier_star_domain() -> None:
    config = parse_config("[domains.rest]\nqueues = ['*']\n[domains.care]\nqueues = ['billing']\n")
    assert (config.domain_of("billing"), config.domain_of("tech")) == ("care", "rest")


def test_without_a_star_domain_unnamed_queues_have_no_router() -> None:
    config: RoutingConfig = parse_config("[domains.care]\nqueues = ['billing']\n")
    assert (config.domain_of("billing"), config.domain_of("tech")) == ("care", None)
