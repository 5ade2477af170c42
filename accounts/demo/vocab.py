"""Word lists the demo generator draws from: industries, countries, names, titles, program themes.

Plain data, no logic. Weights are relative, not percentages.
"""

from __future__ import annotations

# industry -> (weight, company-name endings, revenue per employee in USD)
INDUSTRIES: dict[str, tuple[int, tuple[str, ...], int]] = {
    "Software": (18, ("Software", "Labs", "Systems", "Cloud", "Technologies", "Data"), 260_000),
    "Financial Services": (11, ("Capital", "Financial", "Bank", "Partners", "Insurance", "Wealth"), 420_000),
    "Healthcare": (10, ("Health", "Medical", "Care", "Clinics", "Therapeutics", "Diagnostics"), 180_000),
    "Manufacturing": (11, ("Industries", "Manufacturing", "Components", "Machinery", "Works", "Fabrication"), 230_000),
    "Retail": (9, ("Retail", "Stores", "Brands", "Outfitters", "Market", "Goods"), 160_000),
    "Education": (6, ("Learning", "Academy", "Education", "University", "Schools"), 110_000),
    "Telecommunications": (6, ("Telecom", "Networks", "Communications", "Mobile", "Connect"), 380_000),
    "Energy": (6, ("Energy", "Power", "Renewables", "Utilities", "Solar"), 520_000),
    "Media": (6, ("Media", "Studios", "Publishing", "Entertainment", "Digital"), 240_000),
    "Logistics": (7, ("Logistics", "Freight", "Shipping", "Transport", "Supply"), 200_000),
    "Professional Services": (6, ("Consulting", "Advisors", "Group", "Associates", "Solutions"), 190_000),
    "Biotechnology": (4, ("Bio", "Biosciences", "Genomics", "Pharma"), 350_000),
}

# name, weight, top-level domain, phone prefix, region
COUNTRIES: tuple[tuple[str, int, str, str, str], ...] = (
    ("United States", 34, "com", "+1", "AMER"),
    ("Canada", 5, "ca", "+1", "AMER"),
    ("Brazil", 3, "com.br", "+55", "AMER"),
    ("Mexico", 2, "com.mx", "+52", "AMER"),
    ("United Kingdom", 10, "co.uk", "+44", "EMEA"),
    ("Germany", 7, "de", "+49", "EMEA"),
    ("France", 5, "fr", "+33", "EMEA"),
    ("Netherlands", 3, "nl", "+31", "EMEA"),
    ("Sweden", 2, "se", "+46", "EMEA"),
    ("Spain", 2, "es", "+34", "EMEA"),
    ("Italy", 2, "it", "+39", "EMEA"),
    ("Ireland", 2, "ie", "+353", "EMEA"),
    ("Switzerland", 2, "ch", "+41", "EMEA"),
    ("Poland", 2, "pl", "+48", "EMEA"),
    ("United Arab Emirates", 1, "ae", "+971", "EMEA"),
    ("South Africa", 1, "co.za", "+27", "EMEA"),
    ("Australia", 4, "com.au", "+61", "APAC"),
    ("Japan", 3, "co.jp", "+81", "APAC"),
    ("Singapore", 2, "sg", "+65", "APAC"),
    ("India", 4, "in", "+91", "APAC"),
)
EMEA_COUNTRIES: tuple[str, ...] = tuple(c[0] for c in COUNTRIES if c[4] == "EMEA")

# (low, high, weight) employee bands, matching METRICS.md's size bands.
SIZE_BANDS: tuple[tuple[int, int, int], ...] = (
    (1, 49, 24),
    (50, 249, 30),
    (250, 999, 22),
    (1_000, 4_999, 16),
    (5_000, 60_000, 8),
)

NAME_ROOTS: tuple[str, ...] = (
    "North", "South", "East", "West", "Blue", "Red", "Green", "Silver", "Golden", "Bright", "Iron", "Stone",
    "Summit", "Cedar", "Harbor", "River", "Lake", "Maple", "Oak", "Pine", "Willow", "Falcon", "Eagle", "Hawk",
    "Fox", "Wolf", "Bear", "Lion", "Nova", "Stellar", "Orbit", "Quantum", "Vertex", "Apex", "Prime", "Core",
    "Clear", "True", "Swift", "Bold", "Noble", "Grand", "Sky", "Sun", "Moon", "Star", "Storm", "Frost",
    "Ember", "Crystal", "Coral", "Atlas", "Beacon", "Keystone", "Meridian", "Horizon", "Pioneer", "Vantage",
    "Zenith", "Polar", "Alpine", "Canyon", "Delta", "Echo", "Granite", "Copper", "Cobalt", "Indigo", "Aurora",
    "Linden", "Juniper", "Sterling", "Crest", "Ridge", "Bay", "Harvest", "Pacific", "Atlantic", "Union",
)
NAME_STEMS: tuple[str, ...] = (
    "", "wind", "stone", "field", "point", "bridge", "gate", "line", "peak", "wave", "light", "path", "view",
    "works", "way", "wood", "brook", "star", "port", "ford", "vale", "crest", "mark", "shore", "rock", "land",
    "spring", "well", "dale", "haven", "leaf", "spark", "forge", "hill", "moor", "side", "mont", "stream",
)

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Paul",
    "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa",
    "Timothy", "Deborah", "Ronald", "Stephanie", "Jason", "Rebecca", "Ryan", "Laura", "Jacob", "Helen", "Gary",
    "Sharon", "Nicholas", "Cynthia", "Eric", "Kathleen", "Jonathan", "Amy", "Priya", "Arjun", "Wei", "Mei",
    "Hiroshi", "Yuki", "Lukas", "Sophie", "Lucas", "Emma", "Mateo", "Sofia", "Oliver", "Amelia", "Noah", "Olivia",
    "Liam", "Ava", "Ethan", "Isabella", "Aisha", "Omar", "Fatima", "Ahmed", "Ingrid", "Lars", "Elena", "Marco",
    "Giulia", "Pierre", "Camille", "Hannah", "Felix", "Nora", "Raj", "Ananya", "Chen", "Kenji", "Zara", "Diego",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Shah", "Kumar", "Singh",
    "Chen", "Wang", "Li", "Zhang", "Tanaka", "Sato", "Suzuki", "Muller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Dubois", "Laurent", "Bernard", "Rossi", "Russo", "Ferrari", "Jansen", "DeVries", "Andersson",
    "Johansson", "Nilsson", "Kowalski", "Nowak", "OBrien", "Murphy", "Kelly", "Walsh", "Silva", "Santos",
    "Costa", "Haddad", "Khan", "Ali", "Okafor", "Mensah", "Novak", "Horvat", "Berg", "Lund", "Fontaine",
)

# Buying-committee role -> (title, department) choices. The titles exercise every seniority rule
# in METRICS.md ("vice president"/"VP", C?O words, founder, president, director, head of, manager).
TITLES_BY_ROLE: dict[str, tuple[tuple[str, str], ...]] = {
    "decision_maker": (
        ("CEO", "Executive"), ("Chief Executive Officer", "Executive"), ("Co-Founder & CEO", "Executive"),
        ("President", "Executive"), ("COO", "Operations"), ("Chief Operating Officer", "Operations"),
        ("CTO", "Engineering"), ("Chief Marketing Officer", "Marketing"), ("CMO", "Marketing"),
        ("VP of Sales", "Sales"), ("Vice President of Marketing", "Marketing"), ("SVP Operations", "Operations"),
        ("Chief Information Officer", "IT"),
    ),
    "economic_buyer": (
        ("CFO", "Finance"), ("Chief Financial Officer", "Finance"), ("VP of Finance", "Finance"),
        ("Director of Procurement", "Procurement"), ("Head of Finance", "Finance"),
    ),
    "champion": (
        ("Director of IT", "IT"), ("Head of Marketing", "Marketing"), ("Director of Sales Operations", "Sales"),
        ("Head of Revenue Operations", "Sales"), ("Senior Marketing Manager", "Marketing"),
        ("Director of Demand Generation", "Marketing"), ("VP Engineering", "Engineering"),
    ),
    "influencer": (
        ("Marketing Manager", "Marketing"), ("Sales Manager", "Sales"), ("Product Manager", "Product"),
        ("Director of Engineering", "Engineering"), ("Head of Growth", "Marketing"),
        ("Customer Success Manager", "Customer Success"), ("Operations Manager", "Operations"),
    ),
    "technical_evaluator": (
        ("IT Manager", "IT"), ("Solutions Architect", "IT"), ("Engineering Manager", "Engineering"),
        ("Senior Software Engineer", "Engineering"), ("Data Engineer", "Engineering"),
        ("Director of IT Infrastructure", "IT"), ("Security Architect", "IT"),
    ),
    "end_user": (
        ("Marketing Analyst", "Marketing"), ("Sales Development Representative", "Sales"),
        ("Account Executive", "Sales"), ("Business Analyst", "Operations"), ("Operations Coordinator", "Operations"),
        ("Data Analyst", "Finance"), ("Marketing Specialist", "Marketing"), ("Analyst", "Finance"),
    ),
    "blocker": (
        ("Procurement Manager", "Procurement"), ("IT Security Manager", "IT"), ("Legal Counsel", "Legal"),
        ("Compliance Officer", "Legal"),
    ),
    # Contacts the CRM has not placed on the committee.
    "": (
        ("Office Manager", "Operations"), ("Executive Assistant", "Executive"), ("Recruiter", "HR"),
        ("HR Business Partner", "HR"), ("Consultant", "Operations"), ("Accountant", "Finance"),
        ("Head of People", "HR"), ("Software Engineer", "Engineering"),
    ),
}

TOPICS: tuple[str, ...] = (
    "Account-Based Marketing", "Revenue Operations", "Data Governance", "AI in Sales", "Cloud Cost Control",
    "Customer Retention", "Pipeline Forecasting", "Security Compliance", "Digital Transformation",
    "Intent Data", "Sales Productivity", "Supply Chain Visibility", "Customer Experience", "Analytics Maturity",
)
CITIES: tuple[str, ...] = (
    "New York", "San Francisco", "Chicago", "Austin", "Boston", "Toronto", "London", "Berlin", "Paris",
    "Amsterdam", "Dublin", "Stockholm", "Sydney", "Singapore", "Tokyo",
)
PRODUCTS: tuple[str, ...] = (
    "Platform", "Analytics add-on", "Enterprise licence", "Team plan", "Professional services", "Data connectors",
)

# Generated sales reps (username, first name, last name), added to the "sales" group.
DEMO_REPS: tuple[tuple[str, str, str], ...] = (
    ("rep.jordan", "Jordan", "Reyes"),
    ("rep.priya", "Priya", "Natarajan"),
    ("rep.marcus", "Marcus", "Lindqvist"),
    ("rep.elena", "Elena", "Moreau"),
)
