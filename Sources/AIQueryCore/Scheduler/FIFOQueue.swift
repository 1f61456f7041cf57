/// First in, first out, with O(1) amortised removal from the front: a taken slot is cleared at once, so nothing it
/// held outlives it, and the storage is compacted once half of it is taken (each element moves at most once more).
public struct FIFOQueue<Element> {
    private var slots: [Element?] = []
    private var head = 0

    public init() {}

    public var count: Int { slots.count - head }
    public var isEmpty: Bool { head == slots.count }
    public var first: Element? { head < slots.count ? slots[head] : nil }

    public mutating func append(_ element: Element) {
        slots.append(element)
    }

    public mutating func popFirst() -> Element? {
        guard head < slots.count else { return nil }
        let element = slots[head]
        slots[head] = nil
        head += 1
        if head >= 1024, head * 2 >= slots.count {
            slots.removeFirst(head)
            head = 0
        }
        return element
    }
}
