#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// CVSS base scores from vectors, as FIRST's specifications compute them: version 2 (§3.2.1 of the v2
/// guide), 3.0 and 3.1 (§7.1 and Appendix A of the v3.1 specification; 3.0 rounds up as its §8.1 says).
/// Temporal and environmental metrics are ignored: OSV's `severity[]` scores are base scores. Version 4
/// is not scored (its score comes from the specification's table of macro-vectors), nor is any vector
/// missing a base metric; such vectors give nil.
package enum CVSS {
    /// The base score of `vector` (0.0 … 10.0), or nil when sumsync cannot score it.
    package static func baseScore(_ vector: String) -> Double? {
        let text = vector.trimmed
        if text.hasPrefix("CVSS:3.1/") { return v3(text.dropFirst(9), roundUp: roundUp31) }
        if text.hasPrefix("CVSS:3.0/") { return v3(text.dropFirst(9), roundUp: roundUp30) }
        if text.hasPrefix("CVSS:") { return nil }
        return v2(Substring(text))
    }

    /// The metrics of a vector, `KEY:VALUE` separated by `/`; nil when one appears twice or is malformed.
    private static func metrics(_ text: Substring) -> [Substring: Substring]? {
        var result: [Substring: Substring] = [:]
        for part in text.split(separator: "/", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty,
                result.updateValue(pieces[1], forKey: pieces[0]) == nil
            else { return nil }
        }
        return result
    }

    private static func v3(_ text: Substring, roundUp: (Double) -> Double) -> Double? {
        guard let m = metrics(text), let scope = m["S"], scope == "U" || scope == "C" else { return nil }
        let changed = scope == "C"
        let cia: [Substring: Double] = ["H": 0.56, "L": 0.22, "N": 0]
        guard
            let av = (["N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2] as [Substring: Double])[m["AV"] ?? ""],
            let ac = (["L": 0.77, "H": 0.44] as [Substring: Double])[m["AC"] ?? ""],
            let pr =
                (changed
                ? ["N": 0.85, "L": 0.68, "H": 0.5]
                : ["N": 0.85, "L": 0.62, "H": 0.27]
                    as [Substring: Double])[m["PR"] ?? ""],
            let ui = (["N": 0.85, "R": 0.62] as [Substring: Double])[m["UI"] ?? ""],
            let c = cia[m["C"] ?? ""], let i = cia[m["I"] ?? ""], let a = cia[m["A"] ?? ""]
        else { return nil }
        let iss = 1 - (1 - c) * (1 - i) * (1 - a)
        let impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss
        guard impact > 0 else { return 0 }
        let exploitability = 8.22 * av * ac * pr * ui
        return changed ? roundUp(min(1.08 * (impact + exploitability), 10)) : roundUp(min(impact + exploitability, 10))
    }

    /// CVSS 3.1's Roundup (Appendix A): the smallest one-decimal number ≥ the input, computed on integers
    /// so that 4.000000000000001 is 4.0 and not 4.1.
    private static func roundUp31(_ value: Double) -> Double {
        let integer = Int64((value * 100_000).rounded())
        if integer % 10_000 == 0 { return Double(integer) / 100_000 }
        return Double(integer / 10_000 + 1) / 10
    }

    /// CVSS 3.0's round up: the smallest one-decimal number ≥ the input.
    private static func roundUp30(_ value: Double) -> Double {
        (value * 10).rounded(.up) / 10
    }

    private static func v2(_ text: Substring) -> Double? {
        guard let m = metrics(text) else { return nil }
        let cia: [Substring: Double] = ["N": 0, "P": 0.275, "C": 0.660]
        guard
            let av = (["L": 0.395, "A": 0.646, "N": 1.0] as [Substring: Double])[m["AV"] ?? ""],
            let ac = (["H": 0.35, "M": 0.61, "L": 0.71] as [Substring: Double])[m["AC"] ?? ""],
            let au = (["M": 0.45, "S": 0.56, "N": 0.704] as [Substring: Double])[m["Au"] ?? ""],
            let c = cia[m["C"] ?? ""], let i = cia[m["I"] ?? ""], let a = cia[m["A"] ?? ""]
        else { return nil }
        let impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a))
        let exploitability = 20 * av * ac * au
        let f = impact == 0 ? 0 : 1.176
        let score = (0.6 * impact + 0.4 * exploitability - 1.5) * f
        // One decimal, halves up (the guide's round_to_1_decimal); the nudge absorbs binary fractions
        // such as 4.35 stored as 4.3499999….
        return max(0, (score * 10 + 1e-9).rounded(.toNearestOrAwayFromZero) / 10)
    }

    /// sumsync's severity word for a base score: ≥ 9.0 Critical, ≥ 7.0 Important, ≥ 4.0 Moderate, else Low.
    package static func severity(score: Double) -> String {
        score >= 9.0 ? "Critical" : score >= 7.0 ? "Important" : score >= 4.0 ? "Moderate" : "Low"
    }
}
