/// Turns an S3 error answer into an ``ObjectStoreError`` of the right kind.
enum S3ErrorResponse {
    static let authenticationCodes: Set<String> = [
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken",
        "TokenRefreshRequired", "AuthorizationHeaderMalformed", "InvalidSecurity",
    ]

    static func error(status: Int, body: Substring, operation: String) -> ObjectStoreError {
        let code = XMLText.value("Code", in: body)
        let message = XMLText.value("Message", in: body)
        let detail = [code, message].compactMap { $0 }.joined(separator: ": ")
        let text = "\(operation) failed with HTTP \(status)" + (detail.isEmpty ? "" : " (\(detail))")
        let kind: ObjectStoreError.Kind
        if status == 401 || status == 403 || code.map(authenticationCodes.contains) == true {
            kind = .authentication
        } else if status == 404 {
            kind = .notFound
        } else if status == 408 || status == 429 || status >= 500 {
            kind = .server
        } else {
            kind = .invalidRequest
        }
        return ObjectStoreError(kind, text, status: status)
    }
}
