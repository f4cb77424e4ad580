"""The WhatsApp channel: each person's text and click-to-chat link, handed to the district
coordinators who send it from their own phones (no outside API)."""
