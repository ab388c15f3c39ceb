"""What simulated people say: short canned lines per queue, for message text."""

from __future__ import annotations

CUSTOMER_LINES: dict[str, tuple[str, ...]] = {
    "billing": ("I was charged twice this month.", "Can you explain this invoice?",
                "I'd like a refund, please.", "My card was declined but the money is gone."),
    "tech": ("The app keeps crashing on start.", "I can't log in since yesterday.",
             "My router shows a red light.", "The update broke my settings."),
    "sales": ("Do you have a family plan?", "What does the premium tier include?",
              "Can I upgrade mid-contract?", "Is there a discount for students?"),
}
GENERIC_CUSTOMER = ("I need some help.", "Thanks, that helps.", "Any update on this?",
                    "OK, let me try that.", "It still doesn't work.")
AGENT_LINES = ("Hi, thanks for reaching out. Let me look into that.",
               "I've checked your account; here is what happened.",
               "Could you confirm the email on the account?",
               "That's fixed now. Anything else I can do?",
               "I've applied the change; you'll see it within the hour.")
BOT_LINES = ("Hi! I'm the virtual assistant. What can I help you with?",
             "I can help with that. Here is an article that may answer it.",
             "Did that solve your problem?",
             "Let me get you to the right place.")
HANDOFF_REASONS = ("customer_asked_for_agent", "intent_not_understood", "complex_issue",
                   "authentication_required")
SURVEY_COMMENTS = ("Quick and friendly.", "Took too long to reach someone.",
                   "Problem solved, thanks!", "Had to repeat myself.", "Great agent.")


def customer_line(queue: str, index: int) -> str:
    """A customer's n-th line in a conversation of this queue."""
    opening = CUSTOMER_LINES.get(queue, GENERIC_CUSTOMER)
    pool = opening if index == 0 else GENERIC_CUSTOMER
    return pool[index % len(pool)]
