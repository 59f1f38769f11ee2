import Foundation
import Testing
@testable import ObjectStorage

/// AWS's published examples for signing S3 requests with Signature Version 4
/// ("Examples: Signature Calculations in AWS Signature Version 4", header-based authentication).
@Suite struct SigV4SignerTests {
    let signer = SigV4Signer(credentials: S3Credentials(accessKey: "AKIAIOSFODNN7EXAMPLE",
                                                        secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                             region: "us-east-1")
    let date = Date(timeIntervalSince1970: 1_369_353_600) // 2013-05-24T00:00:00Z

    private func authorization(_ headers: [(String, String)]) -> String? {
        headers.first { $0.0 == "authorization" }?.1
    }

    @Test func getObjectWithRangeMatchesAWSExample() {
        let headers = signer.sign(method: "GET", path: "/test.txt", query: [],
                                  headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                  payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(authorization(headers) == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
    }

    @Test func listObjectsMatchesAWSExample() {
        let headers = signer.sign(method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
                                  headers: [("Host", "examplebucket.s3.amazonaws.com")],
                                  payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(authorization(headers)?.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
    }

    @Test func aChangedSecretChangesTheSignature() {
        let other = SigV4Signer(credentials: S3Credentials(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wrong"), region: "us-east-1")
        let headers = other.sign(method: "GET", path: "/test.txt", query: [],
                                 headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                 payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(authorization(headers)?.hasSuffix("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") == false)
    }

    @Test func encodingKeepsUnreservedAndSlashesOnlyInPaths() {
        #expect(SigV4Signer.encode("a b/c~d_e.f-g", keepSlash: true) == "a%20b/c~d_e.f-g")
        #expect(SigV4Signer.encode("a/b=c&d", keepSlash: false) == "a%2Fb%3Dc%26d")
        #expect(SigV4Signer.encode("é", keepSlash: true) == "%C3%A9")
    }

    @Test func objectKeysRejectTraversalAndControlCharacters() {
        #expect(ObjectKey.isValid("duckling/backup-default-2026.db.enc"))
        #expect(!ObjectKey.isValid("../etc/passwd"))
        #expect(!ObjectKey.isValid("a//b"))
        #expect(!ObjectKey.isValid("/abs"))
        #expect(!ObjectKey.isValid("a\nb"))
        #expect(!ObjectKey.isValid(""))
    }
}
