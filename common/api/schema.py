"""The OpenAPI schema class: every operation declares the problem-details responses it can really give, and its
query parameters say how a blank value is read.

Views declare their own outcomes with ``extend_schema`` (and ``problem_responses`` for the refusals particular to
them). The refusals that follow from how every view works are added here, once, so no operation can forget one:

- 401 and 403 wherever credentials are read (a bad token is refused even where anyone may call; a role or a
  missing CSRF token is refused with 403);
- 404 wherever the path names an object (not there, or not yours to see) and on cursor-paginated lists (a
  cursor the service did not issue);
- 400 wherever the caller sends a body, a query string or a header the view reads;
- 413 and 415 wherever the operation takes a body (too large; a content type it does not parse);
- 429 wherever the view is throttled.

Every error response is served as ``application/problem+json`` (common/api/exception_handler.py), so the media
type of every 4xx and 5xx response is declared as that.

Query filters are read by DRF serializers, which take an optional parameter sent blank (``?status=``) as not sent;
such parameters are declared with ``allowEmptyValue``. ``page_size`` is the exception: a blank one is a 400.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi as spectacular

from common.api.exception_handler import PROBLEM_CONTENT_TYPE
from common.api.problems import problem_responses


class AutoSchema(spectacular.AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for status, response in problem_responses(*self._common_problem_statuses(operation)).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(response, str(status))
        for status, response in responses.items():
            if status[0] in "45" and "content" in response:
                response["content"] = {PROBLEM_CONTENT_TYPE: next(iter(response["content"].values()))}
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required") and parameter["name"] != "page_size":
                parameter["allowEmptyValue"] = True
        return operation

    def _common_problem_statuses(self, operation: dict[str, Any]) -> list[int]:
        parameters = operation.get("parameters", [])
        where = {p["in"] for p in parameters}
        statuses = []
        if self.view.get_authenticators():
            statuses += [401, 403]
        if "path" in where or any(p["in"] == "query" and p["name"] == "cursor" for p in parameters):
            statuses.append(404)
        if "requestBody" in operation or where & {"query", "header"}:
            statuses.append(400)
        if "requestBody" in operation:
            statuses += [413, 415]
        if self.view.get_throttles():
            statuses.append(429)
        return statuses
