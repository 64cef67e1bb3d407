"""Job title → seniority (C-level, VP, director, manager, individual contributor) and department."""

import re

from .base import LeadFacts, Provider, Suggestion

# Checked in order; the first match wins.
SENIORITY_RULES = [
    (
        "c_level",
        r"\b(ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|cdo|chief|founder|co-?founder|owner|managing director|managing partner)\b|(?<!vice )(?<!vice-)\bpresident\b",
    ),
    ("vp", r"\b(vp|svp|evp|avp|vice[- ]president|head of|general manager)\b"),
    ("director", r"\b(director|dir\.)\b"),
    ("manager", r"\b(manager|mgr|lead|leader|supervisor|principal|team lead)\b"),
]
DEPARTMENT_RULES = [
    (
        "engineering",
        r"\b(cto|chief technology|engineer\w*|developer|software|devops|architect|programmer|sre|qa|data scien\w*)\b",
    ),
    (
        "finance",
        r"\b(cfo|chief financial|finance|financial|accounting|accountant|controller|treasur\w*|payroll|fp&a)\b",
    ),
    ("marketing", r"\b(cmo|chief marketing|marketing|growth|brand|content|seo|demand gen\w*|communications|pr)\b"),
    ("sales", r"\b(cro|sales|account executive|business development|bdr|sdr|account manager|ae|revenue)\b"),
    ("it", r"\b(cio|ciso|it|information technology|sysadmin|system administrator|security|infrastructure|network)\b"),
    ("product", r"\b(cpo|product)\b"),
    ("hr", r"\b(chro|hr|human resources|people|talent|recruit\w*)\b"),
    ("operations", r"\b(coo|operations|ops|logistics|supply chain|procurement|purchasing)\b"),
    ("support", r"\b(support|customer success|customer service|helpdesk)\b"),
    ("legal", r"\b(legal|counsel|lawyer|attorney|compliance|paralegal)\b"),
    ("design", r"\b(design\w*|ux|ui)\b"),
    (
        "executive",
        r"\b(ceo|chief executive|founder|co-?founder|owner|president|managing director|managing partner|general manager)\b",
    ),
]
_SENIORITY = [(level, re.compile(pattern)) for level, pattern in SENIORITY_RULES]
_DEPARTMENT = [(department, re.compile(pattern)) for department, pattern in DEPARTMENT_RULES]


def classify_title(title: str) -> tuple[str, str]:
    """(seniority, department) for a job title; department '' when nothing matches."""
    text = " ".join(title.lower().replace("/", " ").replace(",", " ").split())
    seniority = next((level for level, pattern in _SENIORITY if pattern.search(text)), "individual")
    department = next((name for name, pattern in _DEPARTMENT if pattern.search(text)), "")
    return seniority, department


class JobTitleProvider(Provider):
    name = "job_title"
    fills = ("seniority", "department")
    needs = ("job_title",)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        seniority, department = classify_title(facts.get("job_title"))
        suggestions = [Suggestion("seniority", seniority, 0.75, "from job title")]
        if department:
            suggestions.append(Suggestion("department", department, 0.75, "from job title"))
        return suggestions
