import Foundation
import Testing

@testable import SumsyncControl

/// The control socket's request URIs, as `sumsyncctl` builds them.
struct ControlProtocolTests {
    /// A bundle's file name may hold any character a file name can: the query carries it back intact.
    @Test(arguments: ["/srv/sumsync/catalog.bundle", "/srv/a b+c&d=e#f?.bundle", "/srv/ünïcode/x%41.bundle"])
    func queryValuesSurviveTheTrip(path: String) throws {
        let uri = ControlProtocol.uri(ControlProtocol.importPath, query: ["path": path, "force": "false"])
        #expect(uri.hasPrefix("/v1/import?path=/srv/"))
        #expect(!uri.dropFirst("/v1/import?".count).contains(" "))
        let items = try #require(URLComponents(string: uri)?.queryItems)
        #expect(items.map(\.name) == ["path", "force"])
        #expect(items.first?.value == path)
        #expect(items.last?.value == "false")
    }
}
