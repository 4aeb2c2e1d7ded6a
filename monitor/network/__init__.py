"""Many nodes over MQTT: payloads, the publisher of a headless node, the subscriber model."""
