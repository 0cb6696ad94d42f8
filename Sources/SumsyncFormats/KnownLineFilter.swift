/// Decides, before validation, which lines of a catalog are already known (see
/// ``CatalogLineReader/forEachLine(known:onInvalidLine:_:)``).
