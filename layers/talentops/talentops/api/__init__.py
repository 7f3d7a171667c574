"""The HTTP API (API Gateway HTTP API, payload v2) on Powertools' APIGatewayHttpResolver."""
