"""Slot names (domain.yml) as constants."""

ROLE = "role"  # foraelder | fagperson | ung
AGE = "age"  # the child's age, or the young person's own
LIFE_PHASE = "life_phase"  # 0-5 | 6-15 | 16-17 | 18-25, derived from AGE
MUNICIPALITY = "municipality"  # canonical name
REGION = "region"  # derived from MUNICIPALITY on today's date
DIAGNOSIS = "diagnosis"  # diagnosis id
TOPIC = "topic"  # the last topic answered
MISSES = "misses"  # questions in a row the assistant could not place
PRIVACY_NOTED = "privacy_noted"  # the user was told once that personal numbers are not stored
