"""The standard exports of other CRMs, recognised by their column names (docs/import.md has a
section per CRM): Salesforce (leads report and Data Loader API names), HubSpot (contacts),
Pipedrive (persons and leads) and Zoho CRM (leads). Columns not listed stay custom attributes.

Targets are lead fields or the pseudo fields of columns.py: "_name" (a full name, split),
"_mobile" (the phone when there is no other, else the "mobile_phone" attribute), "_owner" (a
user by email, user name or full name), "_created" (the lead's created date), "status",
"attributes.street" (we keep no street field; every CRM's street lands under one key)."""

import re

NAME, MOBILE, OWNER, CREATED, STREET = "_name", "_mobile", "_owner", "_created", "attributes.street"

# Column names whose key (case, spaces and punctuation ignored) is the same in several exports are
# listed once, under the first CRM that uses them.
SALESFORCE: dict[str, str] = {
    # Leads report ("Details Only", exported as CSV)
    "Lead Owner": OWNER,
    "First Name": "first_name",
    "Last Name": "last_name",
    "Title": "job_title",
    "Company / Account": "company",
    "Company": "company",
    "Email": "email",
    "Phone": "phone",
    "Mobile": MOBILE,
    "Website": "website",
    "Street": STREET,
    "City": "city",
    "State/Province": "region",
    "Zip/Postal Code": "postal_code",
    "Country": "country",
    "Lead Source": "source_detail",
    "Lead Status": "status",
    "Industry": "industry",
    "No. of Employees": "company_size",
    "Create Date": CREATED,
    "Created Date": CREATED,
    # Data Loader (API names)
    "FirstName": "first_name",
    "LastName": "last_name",
    "MobilePhone": MOBILE,
    "State": "region",
    "StateCode": "region",
    "PostalCode": "postal_code",
    "CountryCode": "country",
    "LeadSource": "source_detail",
    "Status": "status",
    "NumberOfEmployees": "company_size",
    "CreatedDate": CREATED,
    "Owner.Name": OWNER,
    "Owner.Email": OWNER,
    "Name": NAME,
}
HUBSPOT: dict[str, str] = {
    "Email": "email",
    "Phone Number": "phone",
    "Mobile Phone Number": MOBILE,
    "Job Title": "job_title",
    "Company Name": "company",
    "Associated Company": "company",
    "Website URL": "website",
    "Street Address": STREET,
    "State/Region": "region",
    "Postal Code": "postal_code",
    "Country/Region": "country",
    "Lead Status": "status",
    "Contact owner": OWNER,
    "Create Date": CREATED,
    "Original Source": "source_detail",
    "Number of Employees": "company_size",
}
PIPEDRIVE: dict[str, str] = {
    "Person - Name": NAME,
    "Person - First name": "first_name",
    "Person - Last name": "last_name",
    "Person - Email": "email",
    "Person - Email - Work": "email",
    "Person - Email - Home": "email",
    "Person - Email - Other": "email",
    "Person - Phone": "phone",
    "Person - Phone - Work": "phone",
    "Person - Phone - Home": "phone",
    "Person - Phone - Other": "phone",
    "Person - Phone - Mobile": MOBILE,
    "Person - Job title": "job_title",
    "Person - Organization": "company",
    "Person - Owner": OWNER,
    "Person - Person created": CREATED,
    "Person - Label": "tags",
    "Person - Labels": "tags",
    "Person - Postal address": STREET,
    "Person - Postal address - Street/road name": STREET,
    "Person - Postal address - City/town/village/locality": "city",
    "Person - Postal address - State/County": "region",
    "Person - Postal address - Country": "country",
    "Person - Postal address - ZIP/Postal code": "postal_code",
    "Organization - Name": "company",
    "Organization - Website": "website",
    "Organization - Address": STREET,
    "Organization - Address - Street/road name": STREET,
    "Organization - Address - City/town/village/locality": "city",
    "Organization - Address - State/County": "region",
    "Organization - Address - Country": "country",
    "Organization - Address - ZIP/Postal code": "postal_code",
    "Organization - Industry": "industry",
    "Organization - Number of employees": "company_size",
    "Lead - Owner": OWNER,
    "Lead - Source": "source_detail",
    "Lead - Labels": "tags",
    "Lead - Created": CREATED,
    "Lead - Lead created": CREATED,
    "Lead - Status": "status",
    "Deal - Status": "status",
}
ZOHO: dict[str, str] = {
    "Lead Owner": OWNER,
    "Designation": "job_title",
    "Mobile": MOBILE,
    "Zip Code": "postal_code",
    "Secondary Email": "email",
    "Created Time": CREATED,
    "No. of Employees": "company_size",
    "Tag": "tags",
    "Lead Status": "status",
    "Lead Source": "source_detail",
    "Street": STREET,
    "State": "region",
}
CRM_COLUMNS: dict[str, dict[str, str]] = {
    "Salesforce": SALESFORCE,
    "HubSpot": HUBSPOT,
    "Pipedrive": PIPEDRIVE,
    "Zoho CRM": ZOHO,
}

# Pipedrive prefixes its columns with the record they belong to; a person's column not listed
# above is read without the prefix ("Person - Industry" as "Industry"). Other records' columns
# (a lead's title, an organisation's owner) would mean something else: they stay attributes.
PERSON_PREFIX = re.compile(r"^person\s*-\s*", re.IGNORECASE)

# A Salesforce report export ends with lines after the data: the grand total, a confidentiality
# note, the copyright, who generated it and when, and the org's name. None of them is a lead.
_FOOTER_START = re.compile(
    r"^(grand totals? \(\d[\d,.]* records?\)|total|confidential information - do not distribute"
    r"|copyright \(c\) .*salesforce\.com.*|generated by:.*)$",
    re.IGNORECASE,
)


def footer_starts(cells: list) -> bool:
    """Whether a row is the first line of a Salesforce report's footer (one cell of known text)."""
    filled = [cell for cell in cells if cell not in (None, "") and str(cell).strip()]
    return len(filled) == 1 and isinstance(filled[0], str) and bool(_FOOTER_START.match(" ".join(filled[0].split())))


def footer_continues(cells: list) -> bool:
    """After a footer started, every line of at most one cell is footer too (the org's name)."""
    return sum(1 for cell in cells if cell not in (None, "") and str(cell).strip()) <= 1
