import KubeRequest
import Selectors

/// A list or watch's parameters taken through the apiserver's steps in its order, so an
/// offline answer refuses what the apiserver refuses with the same Status, and is handed
/// what the apiserver's storage would read. Pure: no cache state (what depends on the cached
/// state is decided by the answers).
///
/// kube-apiserver 1.20's `ListResource`: decode the query (integers: 400 with `strconv`'s
/// words; then the label selector, then the field selector: 400), validate (422 with causes),
/// convert field labels (400), check a watch's path name against a `metadata.name` field
/// selector (400); then the storage parses `resourceVersion` and the continue token
/// (``ListOptions/listRead(ownToken:)``, ``ListOptions/watchResourceVersion()``).
struct ReadParameters {
    var options: ListOptions
    var selection: Selection
    /// Lists: how the storage reads it. Watches: nil.
    var read: ListReadPlan?

    /// - Parameters:
    ///   - pathName: the object name in a watch's path (`/watch/.../configmaps/NAME`), or "".
    ///   - ownToken: recognises continue tokens of cache-served pages.
    static func check(_ query: QueryItems, watch: Bool, pathName: String, support: ResourceFieldLabels,
                      style: SelectorErrorStyle, rules: ListOptions.ValidationRules,
                      ownToken: (String) -> Bool) -> Result<ReadParameters, APIStatus> {
        let options: ListOptions
        do {
            options = try ListOptions.decodeScalars(query)
        } catch {
            return .failure(error.status)
        }
        let labels: LabelSelector
        do {
            labels = try LabelSelector.parse(options.labelSelector, style: style)
        } catch {
            return .failure(badRequest(error.message))
        }
        do {
            _ = try ListOptions.decode(query)
        } catch {
            // Before 1.22 the message was the bare parse error; since, the field error.
            return .failure(badRequest(style == .legacy ? (error.causes.first?.detail ?? error.message) : error.message))
        }
        var parsed: Selection.Parsed
        do {
            parsed = try Selection.Parsed(labelSelector: "", fieldSelector: options.fieldSelector, style: style)
            parsed.labels = labels
        } catch {
            return .failure(badRequest(error.message))
        }
        do {
            try options.validate(rules: rules)
        } catch {
            return .failure(error.status)
        }
        var selection: Selection
        do {
            selection = try Selection(parsed, support: support)
        } catch {
            return .failure(badRequest(error.message))
        }
        if watch && !pathName.isEmpty {
            // A watch of one object: its name is a field selector entry.
            if !parsed.fields.isEmpty {
                guard let terms = try? FieldSelectorCheck.requiredName(options.fieldSelector), terms == pathName else {
                    return .failure(badRequest("fieldSelector metadata.name doesn't match requested name"))
                }
            } else {
                do {
                    parsed.fields = try FieldSelector.parse("metadata.name=" + FieldSelectorCheck.escape(pathName))
                    selection = try Selection(parsed, support: support)
                } catch {
                    return .failure(badRequest(error.message))
                }
            }
        }
        do {
            if watch {
                _ = try options.watchResourceVersion()
                return .success(ReadParameters(options: options, selection: selection, read: nil))
            }
            return .success(ReadParameters(options: options, selection: selection, read: try options.listRead(ownToken: ownToken)))
        } catch {
            return .failure(error)
        }
    }

    private static func badRequest(_ message: String) -> APIStatus {
        APIStatus(code: 400, reason: "BadRequest", message: message)
    }
}

/// The bits of field-selector text handling the name check needs.
enum FieldSelectorCheck {
    /// The value a `metadata.name=` (or `==`) term requires, like `RequiresExactMatch`.
    static func requiredName(_ selector: String) throws -> String? {
        let parsed = try FieldSelector.parse(selector)
        return parsed.terms.first { $0.field == "metadata.name" && $0.operator == .equals }?.value
    }

    /// `fields.EscapeValue`.
    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            if c == "\\" || c == "," || c == "=" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
