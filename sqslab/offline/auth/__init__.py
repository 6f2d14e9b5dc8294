"""Who may use the offline server: AWS Signature Version 4, checked on every request.

Four modules: :mod:`~sqslab.offline.auth.keystore` (the access keys a server accepts and
whom each stands for), :mod:`~sqslab.offline.auth.sigv4` (the signature computed again
and compared), :mod:`~sqslab.offline.auth.refusals` (AWS's error in each protocol) and
:mod:`~sqslab.offline.auth.middleware` (the WSGI middleware in front of moto).

Each offline server has credentials of its own (:mod:`sqslab.offline.auth.identity`
writes them, mode 0600, in its state directory): the learner's identity, which
may do everything, like the administrator of a personal account. Every execution
environment gets temporary credentials of its own (an access key id, a secret
and a session token, as Lambda gives them), issued here and revoked when the
environment ends.

:func:`~sqslab.offline.auth.middleware.middleware` wraps the server's WSGI application, so the check applies to
every service and to moto's own routes. A request is let through only if its
``Authorization`` header carries a SigV4 signature that this module computes
again from the request itself (method, path, query, the signed headers, the
payload's SHA-256) with the secret of the access key it names, following AWS's
"Signature Version 4 signing process" and "Elements of an AWS API request
signature"; signatures are compared in constant time. Anything else is answered
with the error AWS gives in that service's protocol, and nothing reaches moto:

- no signature: ``MissingAuthenticationToken`` (S3: ``AccessDenied``);
- an access key this server did not issue, or a session token that is not the
  key's: ``InvalidClientTokenId`` (Lambda and CloudWatch Logs:
  ``UnrecognizedClientException``; S3: ``InvalidAccessKeyId`` / ``InvalidToken``);
- a signature that does not match: ``SignatureDoesNotMatch`` (Lambda, Logs:
  ``InvalidSignatureException``);
- a request time more than 15 minutes away from the server's clock:
  ``SignatureDoesNotMatch`` with AWS's "Signature expired" / "Signature not yet
  current" message (S3: ``RequestTimeTooSkewed``);
- a malformed ``Authorization`` header: ``IncompleteSignature`` (S3:
  ``AuthorizationHeaderMalformed``);
- an S3 body whose SHA-256 is not the ``x-amz-content-sha256`` it was signed
  with: ``XAmzContentSHA256Mismatch``.

S3 payloads signed as ``UNSIGNED-PAYLOAD`` or streamed in signed chunks
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) are accepted on their seed signature,
as botocore sends them. Presigned URLs (the signature in the query string) are
not accepted: nothing in the series makes them.

A request signed with an execution environment's credentials is then
authorized: it is mapped to its IAM action and resource and evaluated against
the policies of the function's execution role, recorded in the environment's
:class:`Principal` when its credentials are issued
(:mod:`sqslab.offline.iam.policy`). A request the role does not allow is
answered with AWS's ``AccessDenied`` (Lambda, CloudWatch Logs:
``AccessDeniedException``), naming the assumed role, the action and the
resource, and changes nothing. The learner's own requests are not evaluated.

The one exception is sqslab's own status route: unsigned, it answers with the
server's pid only (what ``ps`` shows anyone); signed, with the whole report.

Derived signing keys are cached per secret, date, region and service, so a
request costs two SHA-256 digests and one HMAC.
"""
