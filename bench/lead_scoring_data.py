"""A lead file shaped like the public "Lead Scoring" dataset of an online-education company
(X Education: ~9,000 leads, 37 columns), which cannot be downloaded here.

Same columns, same kinds of values: categoricals with many levels and "Select" placeholders (a form
default nobody changed), yes/no strings, counts and times with missing values, free-form tags
(noisy: 8 % of the leads carry a random one), and a won/lost outcome that depends on several columns,
with thresholds (time on the website) and an interaction (occupation × lead source). Shares of the
levels follow the public file; the effects are invented but of its kind (tags and lead quality
say most, the website time next). The file has a Status column (won/lost) where the public one has
Converted (1/0), so that `import_leads` imports the outcome.

    from lead_scoring_data import write_csv
    header, rows, won = write_csv(path, n=9240, seed=1)
"""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import numpy as np

# column: {level: (share, log-odds effect)}; "" is a blank cell, "Select" the form's placeholder.
CATEGORICAL = {
    "Lead Origin": {
        "Landing Page Submission": (0.53, 0.0),
        "API": (0.39, -0.3),
        "Lead Add Form": (0.075, 1.6),
        "Lead Import": (0.005, -0.6),
    },
    "Do Not Email": {"No": (0.92, 0.0), "Yes": (0.08, -1.0)},
    "Do Not Call": {"No": (0.9998, 0.0), "Yes": (0.0002, 0.0)},
    "Last Activity": {
        "Email Opened": (0.37, 0.3),
        "SMS Sent": (0.30, 1.3),
        "Olark Chat Conversation": (0.105, -0.9),
        "Page Visited on Website": (0.07, -0.2),
        "Converted to Lead": (0.046, -0.9),
        "Email Bounced": (0.035, -1.0),
        "Email Link Clicked": (0.029, 0.0),
        "Form Submitted on Website": (0.013, 0.0),
        "Unreachable": (0.01, 0.2),
        "Unsubscribed": (0.006, -0.5),
        "Had a Phone Conversation": (0.003, 2.0),
        "Approached upfront": (0.001, 2.0),
        "View in browser link Clicked": (0.0007, -0.5),
        "Email Received": (0.0002, 1.0),
        "Email Marked Spam": (0.0002, 1.0),
        "Visited Booth in Tradeshow": (0.0001, 0.0),
        "Resubscribed to emails": (0.0001, 0.0),
        "": (0.0106, 0.0),
    },
    "Country": {
        "India": (0.70, 0.0),
        "": (0.266, 0.0),
        "United States": (0.0074, 0.0),
        "United Arab Emirates": (0.0057, 0.0),
        "Singapore": (0.0026, 0.0),
        "Saudi Arabia": (0.0023, 0.0),
        "United Kingdom": (0.0016, 0.0),
        "Australia": (0.0014, 0.0),
        "Qatar": (0.001, 0.0),
        "Bahrain": (0.0008, 0.0),
        "Hong Kong": (0.0008, 0.0),
        "Oman": (0.0006, 0.0),
        "France": (0.0006, 0.0),
        "Nigeria": (0.0004, 0.0),
        "Germany": (0.0004, 0.0),
        "Canada": (0.0004, 0.0),
        "South Africa": (0.0004, 0.0),
        "Kuwait": (0.0004, 0.0),
        "Sweden": (0.0003, 0.0),
    },
    "Specialization": {
        "Select": (0.21, -0.6),
        "": (0.156, -0.2),
        "Finance Management": (0.106, 0.1),
        "Human Resource Management": (0.092, 0.1),
        "Marketing Management": (0.091, 0.3),
        "Operations Management": (0.054, 0.1),
        "Business Administration": (0.044, 0.0),
        "IT Projects Management": (0.04, 0.0),
        "Supply Chain Management": (0.038, 0.0),
        "Banking, Investment And Insurance": (0.037, 0.3),
        "Travel and Tourism": (0.022, -0.2),
        "Media and Advertising": (0.022, 0.0),
        "International Business": (0.019, 0.0),
        "Healthcare Management": (0.017, 0.3),
        "Hospitality Management": (0.012, -0.1),
        "E-COMMERCE": (0.012, 0.0),
        "Retail Management": (0.011, -0.2),
        "Rural and Agribusiness": (0.008, 0.2),
        "E-Business": (0.006, -0.1),
        "Services Excellence": (0.004, -0.3),
    },
    "How did you hear about X Education": {
        "Select": (0.547, 0.0),
        "": (0.239, 0.0),
        "Online Search": (0.087, 0.0),
        "Word Of Mouth": (0.038, 0.0),
        "Student of SomeSchool": (0.034, 0.0),
        "Other": (0.02, 0.0),
        "Multiple Sources": (0.016, 0.0),
        "Advertisements": (0.008, 0.0),
        "Social Media": (0.007, 0.0),
        "Email": (0.003, 0.0),
        "SMS": (0.0025, 0.0),
    },
    "What matters most to you in choosing a course": {
        "Better Career Prospects": (0.706, 0.0),
        "": (0.293, 0.0),
        "Flexibility & Convenience": (0.0003, 0.0),
        "Other": (0.0001, 0.0),
    },
    "Search": {"No": (0.9985, 0.0), "Yes": (0.0015, 0.0)},
    "Magazine": {"No": (1.0, 0.0)},
    "Newspaper Article": {"No": (0.9998, 0.0), "Yes": (0.0002, 0.0)},
    "X Education Forums": {"No": (0.9999, 0.0), "Yes": (0.0001, 0.0)},
    "Newspaper": {"No": (0.9999, 0.0), "Yes": (0.0001, 0.0)},
    "Digital Advertisement": {"No": (0.9996, 0.0), "Yes": (0.0004, 0.0)},
    "Through Recommendations": {"No": (0.9992, 0.0), "Yes": (0.0008, 0.0)},
    "Receive More Updates About Our Courses": {"No": (1.0, 0.0)},
    "Tags": {
        "": (0.363, -0.5),
        "Will revert after reading the email": (0.224, 2.8),
        "Ringing": (0.13, -2.5),
        "Interested in other courses": (0.055, -2.0),
        "Already a student": (0.05, -3.5),
        "Closed by Horizzon": (0.039, 5.0),
        "switched off": (0.026, -2.5),
        "Busy": (0.02, 0.5),
        "Lost to EINS": (0.019, 3.5),
        "Not doing further education": (0.016, -3.0),
        "Interested  in full time MBA": (0.013, -1.5),
        "Graduation in progress": (0.012, -1.0),
        "invalid number": (0.009, -2.5),
        "Diploma holder (Not Eligible)": (0.007, -3.0),
        "wrong number given": (0.005, -3.0),
        "opp hangup": (0.0036, -1.0),
        "number not provided": (0.0029, -2.0),
        "in touch with EINS": (0.0013, 0.0),
        "Lost to Others": (0.0007, -1.0),
        "Still Thinking": (0.0006, 0.0),
        "Want to take admission but has financial problems": (0.0006, 0.0),
        "In confusion whether part time or DLP": (0.0005, 0.0),
        "Interested in Next batch": (0.0005, 2.0),
        "Lateral student": (0.0003, 2.0),
        "Shall take in the next coming month": (0.0002, 0.0),
        "University not recognized": (0.0002, -1.0),
        "Recognition issue (DEC approval)": (0.0001, -1.0),
    },
    "Lead Quality": {
        "": (0.516, -0.3),
        "Might be": (0.168, 0.5),
        "Not Sure": (0.118, -0.5),
        "High in Relevance": (0.069, 1.5),
        "Worst": (0.065, -2.5),
        "Low in Relevance": (0.063, 0.3),
    },
    "Update me on Supply Chain Content": {"No": (1.0, 0.0)},
    "Get updates on DM Content": {"No": (1.0, 0.0)},
    "Lead Profile": {
        "Select": (0.449, 0.0),
        "": (0.293, -0.2),
        "Potential Lead": (0.175, 1.0),
        "Other Leads": (0.053, 0.0),
        "Student of SomeSchool": (0.026, -2.0),
        "Lateral Student": (0.0026, 2.0),
        "Dual Specialization Student": (0.0022, 2.0),
    },
    "City": {
        "Mumbai": (0.349, 0.0),
        "Select": (0.244, 0.0),
        "": (0.154, 0.0),
        "Thane & Outskirts": (0.081, 0.0),
        "Other Cities": (0.074, 0.0),
        "Other Cities of Maharashtra": (0.049, 0.0),
        "Other Metro Cities": (0.041, 0.0),
        "Tier II Cities": (0.008, 0.0),
    },
    "Asymmetrique Activity Index": {
        "": (0.456, 0.0),
        "02.Medium": (0.416, 0.0),
        "01.High": (0.085, 0.3),
        "03.Low": (0.043, -1.0),
    },
    "Asymmetrique Profile Index": {"": (0.456, 0.0), "02.Medium": (0.303, 0.0), "01.High": (0.241, 0.3)},
    "I agree to pay the amount through cheque": {"No": (1.0, 0.0)},
    "A free copy of Mastering The Interview": {"No": (0.687, 0.0), "Yes": (0.313, -0.1)},
}
# The lead source depends on the origin (references and the partner website come by the ad form).
SOURCE_BY_ORIGIN = {
    "Lead Add Form": {
        "Reference": (0.74, 1.5),
        "Welingak Website": (0.20, 2.5),
        "Google": (0.03, 0.0),
        "Direct Traffic": (0.03, -0.2),
    },
    "other": {
        "Google": (0.335, 0.0),
        "Direct Traffic": (0.295, -0.2),
        "Olark Chat": (0.205, -0.3),
        "Organic Search": (0.135, -0.1),
        "Referral Sites": (0.0135, -0.4),
        "Facebook": (0.0059, -0.5),
        "": (0.0039, 0.0),
        "bing": (0.0007, 0.0),
        "google": (0.0005, 0.0),
        "Click2call": (0.0004, 1.0),
        "Press_Release": (0.0002, 0.0),
        "Social Media": (0.0002, 0.0),
        "Live Chat": (0.0002, 1.0),
        "youtubechannel": (0.0001, 0.0),
        "testone": (0.0001, 0.0),
        "Pay per Click Ads": (0.0001, 0.0),
        "welearnblog_Home": (0.0001, 0.0),
        "WeLearn": (0.0001, 0.0),
        "blog": (0.0001, 0.0),
        "NC_EDM": (0.0001, 0.0),
    },
}
OCCUPATION = {
    "Unemployed": (0.607, 0.0),
    "": (0.291, -0.8),
    "Working Professional": (0.076, 2.3),
    "Student": (0.0227, -0.3),
    "Other": (0.0017, 0.5),
    "Housewife": (0.0011, 2.0),
    "Businessman": (0.0009, 0.5),
}
NOTABLE = {  # Last Notable Activity: the last activity when notable, else "Modified" (−0.4)
    "Email Opened",
    "SMS Sent",
    "Page Visited on Website",
    "Olark Chat Conversation",
    "Email Link Clicked",
    "Email Bounced",
    "Unsubscribed",
    "Unreachable",
    "Had a Phone Conversation",
    "Email Marked Spam",
    "Approached upfront",
    "Resubscribed to emails",
    "View in browser link Clicked",
    "Form Submitted on Website",
    "Email Received",
}
INTERCEPT = -1.0
# The effects above are relative; this scales them all so that the file is about as predictable as the
# public one (a one-hot logistic regression reaches ~0.96 AUC on it; 0.98 on the real file).
STRENGTH = 2.6
NOISY_TAGS = 0.08  # this share of leads carry a tag drawn at random (typed by a busy rep)
HEADER = [
    "Prospect ID",
    "Lead Number",
    "Lead Origin",
    "Lead Source",
    "Do Not Email",
    "Do Not Call",
    "Status",
    "TotalVisits",
    "Total Time Spent on Website",
    "Page Views Per Visit",
    "Last Activity",
    "Country",
    "Specialization",
    "How did you hear about X Education",
    "What is your current occupation",
    "What matters most to you in choosing a course",
    "Search",
    "Magazine",
    "Newspaper Article",
    "X Education Forums",
    "Newspaper",
    "Digital Advertisement",
    "Through Recommendations",
    "Receive More Updates About Our Courses",
    "Tags",
    "Lead Quality",
    "Update me on Supply Chain Content",
    "Get updates on DM Content",
    "Lead Profile",
    "City",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "I agree to pay the amount through cheque",
    "A free copy of Mastering The Interview",
    "Last Notable Activity",
]


def _draw(rng: np.random.Generator, table: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    levels = list(table)
    shares = np.array([table[level][0] for level in levels])
    picks = rng.choice(len(levels), size=n, p=shares / shares.sum())
    effects = np.array([table[level][1] for level in levels])
    return np.array(levels, dtype=object)[picks], effects[picks]


def generate(n: int, *, seed: int) -> tuple[list[str], list[list[str]], np.ndarray]:
    """(header, rows of cells as text, won 0/1) for n leads."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    logit = np.full(n, INTERCEPT)
    for name, table in CATEGORICAL.items():
        columns[name], effect = _draw(rng, table, n)
        logit += effect
    sources = np.empty(n, dtype=object)
    for key, table in SOURCE_BY_ORIGIN.items():
        mask = (
            columns["Lead Origin"] == "Lead Add Form"
            if key == "Lead Add Form"
            else columns["Lead Origin"] != "Lead Add Form"
        )
        sources[mask], effect = _draw(rng, table, int(mask.sum()))
        logit[mask] += effect
    columns["Lead Source"] = sources
    columns["What is your current occupation"], effect = _draw(rng, OCCUPATION, n)
    logit += effect
    # Interaction: working professionals who came by a reference convert far more than either says alone.
    logit += 1.0 * ((columns["What is your current occupation"] == "Working Professional") & (sources == "Reference"))
    # Occupation and "what matters most" are asked on the same form page: blank together.
    columns["What matters most to you in choosing a course"][columns["What is your current occupation"] == ""] = ""
    # Website behaviour: the ad form and the API bring people who never browsed.
    browsed = (columns["Lead Origin"] == "Landing Page Submission") | (rng.random(n) < 0.45)
    visits = np.where(browsed, 1 + rng.poisson(2.5, n), 0)
    seconds = np.where(browsed, np.minimum(rng.lognormal(6.0, 0.9, n), 2272).astype(int), 0)
    views = np.where(visits > 0, np.round(np.clip(rng.lognormal(0.8, 0.5, n), 1, visits + 1), 2), 0.0)
    logit += np.where(seconds > 1000, 1.2, 0.0) + 1.4 * np.minimum(seconds, 1500) / 1500  # a rise, then a jump
    logit += np.where(visits > 8, -0.4, 0.0) - 0.1 * (views > 4)
    unknown_visits = rng.random(n) < 0.015
    activity_score = np.where(columns["Asymmetrique Activity Index"] == "", -1, rng.integers(7, 19, n))
    profile_score = np.where(columns["Asymmetrique Profile Index"] == "", -1, rng.integers(11, 21, n))
    logit += np.where(activity_score >= 16, 0.3, 0.0)
    last = columns["Last Activity"]
    notable = np.array(
        [value if value in NOTABLE and rng.random() < 0.6 else "Modified" for value in last], dtype=object
    )
    logit += np.where(notable == "Modified", -0.4, 0.0)
    won = (rng.random(n) < 1 / (1 + np.exp(-STRENGTH * logit))).astype(int)
    noisy = rng.random(n) < NOISY_TAGS
    tag_levels = [level for level in CATEGORICAL["Tags"] if level]
    columns["Tags"][noisy] = rng.choice(np.array(tag_levels, dtype=object), size=int(noisy.sum()))

    numbers = rng.choice(np.arange(579_533, 579_533 + 20 * n), size=n, replace=False)
    rows = []
    for i in range(n):
        cells = {
            "Prospect ID": str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i)),
            "Lead Number": str(numbers[i]),
            "Status": "won" if won[i] else "lost",
            "Last Notable Activity": notable[i],
            "TotalVisits": "" if unknown_visits[i] else str(visits[i]),
            "Total Time Spent on Website": str(seconds[i]),
            "Page Views Per Visit": "" if unknown_visits[i] else f"{views[i]:g}",
            "Asymmetrique Activity Score": "" if activity_score[i] < 0 else str(activity_score[i]),
            "Asymmetrique Profile Score": "" if profile_score[i] < 0 else str(profile_score[i]),
        }
        for name, values in columns.items():
            cells[name] = values[i]
        rows.append([cells[name] for name in HEADER])
    return HEADER, rows, won


def write_csv(path: Path, *, n: int, seed: int) -> tuple[list[str], list[list[str]], np.ndarray]:
    header, rows, won = generate(n, seed=seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return header, rows, won
