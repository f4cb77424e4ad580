"""What the concerns share: the Sheets client, the one jinja environment, the Hindi filters,
signed tokens, privacy masking, rate limits and the district catalogue."""
