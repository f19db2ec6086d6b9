# No User class at all.
import json
