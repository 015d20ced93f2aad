"""Stateful fakes of the trackers' REST APIs, and a validator against their OpenAPI subsets."""
