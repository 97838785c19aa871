"""GraphQL: the schema (schema.py, its SDL schema.graphql), the question resolvers, the cost and
depth limits and the router that serves /graphql with a deadline and a body limit."""
