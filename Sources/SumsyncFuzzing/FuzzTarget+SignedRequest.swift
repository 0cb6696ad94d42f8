import Foundation

extension FuzzTarget {
    /// The hierarchy key of the fuzzed site.
    static let hierarchyKey = Data((0..<32).map { UInt8($0) })
    /// The receiving site's clock (Unix seconds) and when its daemon started.
    static let receiverNow: Int64 = 1_780_000_000
    static let receiverStarted: Int64 = receiverNow - 600

    /// The input as a site-to-site request's parts, one a line: method, path, query, and the values of
    /// `X-Sumsync-Site`, `-Timestamp`, `-Nonce`, `-Content-SHA256`, `-Signature` and `Content-Length`;
    /// checked in `SignatureMiddleware` (SumsyncDaemon)'s order against site CAS's policy. Refusal is expected; the
    /// signature made for these parts must verify, and a signature header must read as bytes only when it
    /// is their hex.
    static func signedRequest(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        let parts = FuzzInput.fields(input, count: 9).map { String(decoding: $0, as: UTF8.self) }
        let (method, path, query, site, timestamp, nonce, digest, signature, length) = (
            parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6], parts[7], parts[8]
        )
        let receiver = "CAS"
        let signer = RequestSigner(key: hierarchyKey)
        let made = signer.sign(
            method: method, path: path, query: query, timestamp: timestamp, nonce: nonce, site: site,
            receiver: receiver, contentSHA256: digest)
        try signedRequest.expect(
            signer.isValid(
                signature: made, method: method, path: path, query: query, timestamp: timestamp, nonce: nonce,
                site: site, receiver: receiver, contentSHA256: digest),
            "the signature made for the request does not verify")
        // Only the signature's hex, in either case, may stand for its bytes.
        if let bytes = RequestSigner.bytes(hex: signature) {
            try signedRequest.expect(
                RequestSigner.hex(bytes) == signature.lowercased(),
                "signature '\(signature)' reads as the bytes \(RequestSigner.hex(bytes))")
        }
        // The middleware's checks, in its order; each refusal ends the request.
        guard let sent = RequestSigner.signedTime(timestamp, now: receiverNow) else { return false }
        try signedRequest.expect(
            (sent - receiverNow).magnitude <= RequestSigner.maxSkew.magnitude, "timestamp \(timestamp) taken as fresh")
        guard sent >= receiverStarted else { return false }
        let valid = signer.isValid(
            signature: signature, method: method, path: path, query: query, timestamp: timestamp, nonce: nonce,
            site: site, receiver: receiver, contentSHA256: digest)
        guard valid, ["CAS", "PR1", "PR2"].contains(site) else { return false }
        return Int(length).map { $0 <= 1 << 20 } ?? true
    }
}
