"""Honest programs the judge must pass: LeetCode-style classes, generators, in-place mutation,
exceptions of the program's own classes and richer return types
(tests/rewards/sandbox/test_sandbox_honest.py).

Each task is (program, tests), written for this suite; the tests are what a task's author would
write, not shaped around the judge.
"""

from __future__ import annotations

CLASS_TASKS: dict[str, tuple[str, list[str]]] = {
    "two_sum": ("class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
                "        for i, n in enumerate(nums):\n            if target - n in seen:\n"
                "                return [seen[target - n], i]\n            seen[n] = i\n",
                ["assert Solution().twoSum([2, 7, 11, 15], 9) == [0, 1]",
                 "assert sorted(Solution().twoSum([3, 2, 4], 6)) == [1, 2]"]),
    "stack": ("class Stack:\n    def __init__(self):\n        self.items = []\n"
              "    def push(self, x):\n        self.items.append(x)\n"
              "    def pop(self):\n        return self.items.pop()\n"
              "    def peek(self):\n        return self.items[-1]\n"
              "    def is_empty(self):\n        return not self.items\n"
              "    def size(self):\n        return len(self.items)\n",
              ["s = Stack()\ns.push(1)\ns.push(2)\nassert s.peek() == 2\nassert s.pop() == 2\n"
               "assert s.size() == 1\nassert not s.is_empty()\ns.pop()\nassert s.is_empty()"]),
    "min_stack": ("class MinStack:\n    def __init__(self):\n        self.s = []\n"
                  "    def push(self, val):\n"
                  "        self.s.append((val, min(val, self.s[-1][1]) if self.s else val))\n"
                  "    def pop(self):\n        self.s.pop()\n"
                  "    def top(self):\n        return self.s[-1][0]\n"
                  "    def getMin(self):\n        return self.s[-1][1]\n",
                  ["m = MinStack()\nfor v in (-2, 0, -3):\n    m.push(v)\nassert m.getMin() == -3\n"
                   "m.pop()\nassert m.top() == 0\nassert m.getMin() == -2"]),
    "queue_two_stacks": (
        "class MyQueue:\n    def __init__(self):\n        self.a, self.b = [], []\n"
        "    def push(self, x):\n        self.a.append(x)\n"
        "    def pop(self):\n        self.peek()\n        return self.b.pop()\n"
        "    def peek(self):\n        if not self.b:\n            while self.a:\n"
        "                self.b.append(self.a.pop())\n        return self.b[-1]\n"
        "    def empty(self):\n        return not self.a and not self.b\n",
        ["q = MyQueue()\nq.push(1)\nq.push(2)\nassert q.peek() == 1\nassert q.pop() == 1\n"
         "assert q.empty() is False"]),
    "lru_cache": (
        "from collections import OrderedDict\nclass LRUCache:\n"
        "    def __init__(self, capacity):\n        self.c, self.d = capacity, OrderedDict()\n"
        "    def get(self, key):\n        if key not in self.d:\n            return -1\n"
        "        self.d.move_to_end(key)\n        return self.d[key]\n"
        "    def put(self, key, value):\n        self.d[key] = value\n"
        "        self.d.move_to_end(key)\n        if len(self.d) > self.c:\n"
        "            self.d.popitem(last=False)\n",
        ["c = LRUCache(2)\nc.put(1, 1)\nc.put(2, 2)\nassert c.get(1) == 1\nc.put(3, 3)\n"
         "assert c.get(2) == -1\nc.put(4, 4)\nassert c.get(1) == -1\nassert c.get(3) == 3"]),
    "trie": (
        "class Trie:\n    def __init__(self):\n        self.root = {}\n"
        "    def insert(self, word):\n        node = self.root\n        for ch in word:\n"
        "            node = node.setdefault(ch, {})\n        node['$'] = True\n"
        "    def _find(self, prefix):\n        node = self.root\n        for ch in prefix:\n"
        "            if ch not in node:\n                return None\n            node = node[ch]\n"
        "        return node\n"
        "    def search(self, word):\n        node = self._find(word)\n"
        "        return node is not None and '$' in node\n"
        "    def startsWith(self, prefix):\n        return self._find(prefix) is not None\n",
        ["t = Trie()\nt.insert('apple')\nassert t.search('apple')\nassert not t.search('app')\n"
         "assert t.startsWith('app')\nt.insert('app')\nassert t.search('app') is True"]),
    "list_node_reverse": (
        "class ListNode:\n    def __init__(self, val=0, next=None):\n"
        "        self.val, self.next = val, next\n"
        "class Solution:\n    def reverseList(self, head):\n        prev = None\n"
        "        while head:\n            head.next, prev, head = prev, head, head.next\n"
        "        return prev\n",
        ["head = ListNode(1, ListNode(2, ListNode(3)))\nnode = Solution().reverseList(head)\n"
         "out = []\nwhile node is not None:\n    out.append(node.val)\n    node = node.next\n"
         "assert out == [3, 2, 1]"]),
    "tree_depth": (
        "class TreeNode:\n    def __init__(self, val=0, left=None, right=None):\n"
        "        self.val, self.left, self.right = val, left, right\n"
        "class Solution:\n    def maxDepth(self, root):\n        if root is None:\n"
        "            return 0\n"
        "        return 1 + max(self.maxDepth(root.left), self.maxDepth(root.right))\n",
        ["root = TreeNode(3, TreeNode(9), TreeNode(20, TreeNode(15), TreeNode(7)))\n"
         "assert Solution().maxDepth(root) == 3\nassert Solution().maxDepth(None) == 0"]),
    "tree_inorder_generator": (
        "class TreeNode:\n    def __init__(self, val, left=None, right=None):\n"
        "        self.val, self.left, self.right = val, left, right\n"
        "    def __iter__(self):\n        if self.left:\n            yield from self.left\n"
        "        yield self.val\n        if self.right:\n            yield from self.right\n",
        ["t = TreeNode(2, TreeNode(1), TreeNode(3))\nassert list(t) == [1, 2, 3]"]),
    "counter_class": (
        "class Counter:\n    def __init__(self, start=0):\n        self.value = start\n"
        "    def increment(self, by=1):\n        self.value += by\n        return self\n",
        ["c = Counter(5)\nc.increment().increment(by=3)\nassert c.value == 9"]),
    "bank_account": (
        "class InsufficientFunds(Exception):\n    pass\n"
        "class Account:\n    def __init__(self, owner, balance=0):\n"
        "        self.owner, self.balance = owner, balance\n"
        "    def deposit(self, amount):\n        if amount <= 0:\n"
        "            raise ValueError('amount must be positive')\n        self.balance += amount\n"
        "    def withdraw(self, amount):\n        if amount > self.balance:\n"
        "            raise InsufficientFunds(amount)\n        self.balance -= amount\n",
        ["a = Account('ann', 10)\na.deposit(5)\nassert a.balance == 15\n"
         "try:\n    a.withdraw(100)\nexcept InsufficientFunds:\n    pass\nelse:\n"
         "    assert False\ntry:\n    a.deposit(-1)\nexcept ValueError as e:\n"
         "    assert 'positive' in str(e)\nelse:\n    assert False\nassert a.owner == 'ann'"]),
    "rectangle_str": (
        "class Rectangle:\n    def __init__(self, w, h):\n        self.w, self.h = w, h\n"
        "    def area(self):\n        return self.w * self.h\n"
        "    def __str__(self):\n        return f'Rectangle({self.w}x{self.h})'\n"
        "    def __repr__(self):\n        return f'Rectangle({self.w}, {self.h})'\n",
        ["r = Rectangle(3, 4)\nassert r.area() == 12\nassert str(r) == 'Rectangle(3x4)'\n"
         "assert repr(r) == 'Rectangle(3, 4)'\nr.w = 5\nassert r.area() == 20"]),
    "vector_arithmetic": (
        "class Vector:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
        "    def __add__(self, other):\n        return Vector(self.x + other.x, self.y + other.y)\n"
        "    def __mul__(self, k):\n        return Vector(self.x * k, self.y * k)\n"
        "    def __abs__(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5\n"
        "    def to_tuple(self):\n        return (self.x, self.y)\n",
        ["v = Vector(1, 2) + Vector(2, 2)\nassert v.to_tuple() == (3, 4)\nassert abs(v) == 5.0\n"
         "assert (v * 2).to_tuple() == (6, 8)"]),
    "linked_list_len_iter": (
        "class LinkedList:\n    def __init__(self):\n        self.items = []\n"
        "    def append(self, x):\n        self.items.append(x)\n"
        "    def __len__(self):\n        return len(self.items)\n"
        "    def __iter__(self):\n        return iter(self.items)\n"
        "    def __contains__(self, x):\n        return x in self.items\n"
        "    def __getitem__(self, i):\n        return self.items[i]\n",
        ["l = LinkedList()\nfor x in 'abc':\n    l.append(x)\nassert len(l) == 3\n"
         "assert list(l) == ['a', 'b', 'c']\nassert 'b' in l and 'z' not in l\n"
         "assert l[-1] == 'c'"]),
    "matrix_getitem_setitem": (
        "class Grid:\n    def __init__(self, n):\n        self.cells = {}\n        self.n = n\n"
        "    def __getitem__(self, key):\n        return self.cells.get(key, 0)\n"
        "    def __setitem__(self, key, value):\n        self.cells[key] = value\n"
        "    def __delitem__(self, key):\n        del self.cells[key]\n"
        "    def total(self):\n        return sum(self.cells.values())\n",
        ["g = Grid(3)\ng[(0, 1)] = 5\ng[1, 1] = 2\nassert g[0, 1] == 5\nassert g.total() == 7\n"
         "del g[0, 1]\nassert g[0, 1] == 0"]),
    "kth_largest": (
        "import heapq\nclass KthLargest:\n    def __init__(self, k, nums):\n"
        "        self.k, self.h = k, []\n        for n in nums:\n            self.add(n)\n"
        "    def add(self, val):\n        heapq.heappush(self.h, val)\n"
        "        if len(self.h) > self.k:\n            heapq.heappop(self.h)\n"
        "        return self.h[0]\n",
        ["k = KthLargest(3, [4, 5, 8, 2])\nassert [k.add(v) for v in (3, 5, 10, 9, 4)] == "
         "[4, 5, 5, 8, 8]"]),
    "moving_average": (
        "from collections import deque\nclass MovingAverage:\n    def __init__(self, size):\n"
        "        self.q = deque(maxlen=size)\n    def next(self, val):\n"
        "        self.q.append(val)\n        return sum(self.q) / len(self.q)\n",
        ["m = MovingAverage(3)\nassert [m.next(v) for v in (1, 10, 3, 5)] == "
         "[1.0, 5.5, 14 / 3, 6.0]"]),
    "hit_counter": (
        "class HitCounter:\n    def __init__(self):\n        self.hits = []\n"
        "    def hit(self, t):\n        self.hits.append(t)\n"
        "    def getHits(self, t):\n        return sum(1 for h in self.hits if t - h < 300)\n",
        ["c = HitCounter()\nfor t in (1, 2, 3):\n    c.hit(t)\nassert c.getHits(4) == 3\n"
         "c.hit(300)\nassert c.getHits(300) == 4\nassert c.getHits(301) == 3"]),
    "codec": (
        "class Codec:\n    def encode(self, strs):\n"
        "        return ''.join(f'{len(s)}#{s}' for s in strs)\n    def decode(self, s):\n"
        "        out, i = [], 0\n        while i < len(s):\n            j = s.index('#', i)\n"
        "            n = int(s[i:j])\n            out.append(s[j + 1:j + 1 + n])\n"
        "            i = j + 1 + n\n        return out\n",
        ["c = Codec()\nassert c.decode(c.encode(['a#b', '', 'xyz'])) == ['a#b', '', 'xyz']"]),
    "random_set": (
        "import random\nclass RandomizedSet:\n    def __init__(self):\n"
        "        self.pos, self.items = {}, []\n    def insert(self, val):\n"
        "        if val in self.pos:\n            return False\n"
        "        self.pos[val] = len(self.items)\n        self.items.append(val)\n"
        "        return True\n    def remove(self, val):\n        if val not in self.pos:\n"
        "            return False\n        i, last = self.pos.pop(val), self.items.pop()\n"
        "        if i < len(self.items):\n            self.items[i] = last\n"
        "            self.pos[last] = i\n        return True\n"
        "    def getRandom(self):\n        return random.choice(self.items)\n",
        ["s = RandomizedSet()\nassert s.insert(1) and not s.insert(1)\nassert s.insert(2)\n"
         "assert s.remove(1) and not s.remove(1)\nassert s.getRandom() == 2"]),
    "trie_word_dictionary": (
        "class WordDictionary:\n    def __init__(self):\n        self.words = set()\n"
        "    def addWord(self, word):\n        self.words.add(word)\n"
        "    def search(self, word):\n        import re\n"
        "        return any(re.fullmatch(word, w) for w in self.words)\n",
        ["d = WordDictionary()\nfor w in ('bad', 'dad', 'mad'):\n    d.addWord(w)\n"
         "assert d.search('pad') is False\nassert d.search('.ad') is True\n"
         "assert d.search('b..')"]),
    "union_find": (
        "class UnionFind:\n    def __init__(self, n):\n        self.parent = list(range(n))\n"
        "    def find(self, x):\n        while self.parent[x] != x:\n"
        "            self.parent[x] = self.parent[self.parent[x]]\n            x = self.parent[x]\n"
        "        return x\n    def union(self, a, b):\n"
        "        ra, rb = self.find(a), self.find(b)\n"
        "        if ra == rb:\n            return False\n        self.parent[ra] = rb\n"
        "        return True\n    def connected(self, a, b):\n"
        "        return self.find(a) == self.find(b)\n",
        ["u = UnionFind(5)\nassert u.union(0, 1) and u.union(1, 2)\nassert not u.union(0, 2)\n"
         "assert u.connected(0, 2) and not u.connected(0, 3)"]),
    "bst_iterator": (
        "class TreeNode:\n    def __init__(self, val, left=None, right=None):\n"
        "        self.val, self.left, self.right = val, left, right\n"
        "class BSTIterator:\n    def __init__(self, root):\n        self.stack = []\n"
        "        self._push(root)\n    def _push(self, node):\n        while node:\n"
        "            self.stack.append(node)\n            node = node.left\n"
        "    def next(self):\n        node = self.stack.pop()\n        self._push(node.right)\n"
        "        return node.val\n    def hasNext(self):\n        return bool(self.stack)\n",
        ["root = TreeNode(7, TreeNode(3), TreeNode(15, TreeNode(9), TreeNode(20)))\n"
         "it = BSTIterator(root)\nout = []\nwhile it.hasNext():\n    out.append(it.next())\n"
         "assert out == [3, 7, 9, 15, 20]"]),
    "snapshot_array": (
        "class SnapshotArray:\n    def __init__(self, length):\n"
        "        self.cur, self.snaps = {}, []\n"
        "    def set(self, index, val):\n        self.cur[index] = val\n"
        "    def snap(self):\n        self.snaps.append(dict(self.cur))\n"
        "        return len(self.snaps) - 1\n"
        "    def get(self, index, snap_id):\n        return self.snaps[snap_id].get(index, 0)\n",
        ["a = SnapshotArray(3)\na.set(0, 5)\nassert a.snap() == 0\na.set(0, 6)\n"
         "assert a.get(0, 0) == 5"]),
    "time_map": (
        "import bisect\nfrom collections import defaultdict\nclass TimeMap:\n"
        "    def __init__(self):\n        self.d = defaultdict(list)\n"
        "    def set(self, key, value, timestamp):\n"
        "        self.d[key].append((timestamp, value))\n"
        "    def get(self, key, timestamp):\n        items = self.d[key]\n"
        "        i = bisect.bisect_right(items, (timestamp, chr(0x10FFFF)))\n"
        "        return items[i - 1][1] if i else ''\n",
        ["t = TimeMap()\nt.set('foo', 'bar', 1)\nassert t.get('foo', 1) == 'bar'\n"
         "assert t.get('foo', 3) == 'bar'\nt.set('foo', 'bar2', 4)\n"
         "assert t.get('foo', 4) == 'bar2'\n"
         "assert t.get('foo', 0) == ''"]),
    "browser_history": (
        "class BrowserHistory:\n    def __init__(self, homepage):\n"
        "        self.h, self.i = [homepage], 0\n"
        "    def visit(self, url):\n        self.h[self.i + 1:] = [url]\n        self.i += 1\n"
        "    def back(self, steps):\n        self.i = max(0, self.i - steps)\n"
        "        return self.h[self.i]\n"
        "    def forward(self, steps):\n        self.i = min(len(self.h) - 1, self.i + steps)\n"
        "        return self.h[self.i]\n",
        ["b = BrowserHistory('a')\nb.visit('b')\nb.visit('c')\nassert b.back(1) == 'b'\n"
         "assert b.forward(5) == 'c'\nassert b.back(9) == 'a'"]),
    "parking_system": (
        "class ParkingSystem:\n    def __init__(self, big, medium, small):\n"
        "        self.free = [None, big, medium, small]\n    def addCar(self, carType):\n"
        "        if self.free[carType] == 0:\n            return False\n"
        "        self.free[carType] -= 1\n        return True\n",
        ["p = ParkingSystem(1, 1, 0)\nassert [p.addCar(1), p.addCar(2), p.addCar(3), p.addCar(1)]"
         " == [True, True, False, False]"]),
    "dataclass_point": (
        "from dataclasses import dataclass\n@dataclass\nclass Point:\n    x: int\n    y: int\n"
        "    def dist2(self, other):\n"
        "        return (self.x - other.x) ** 2 + (self.y - other.y) ** 2\n"
        "def midpoint(a, b):\n    return Point((a.x + b.x) // 2, (a.y + b.y) // 2)\n",
        ["m = midpoint(Point(0, 0), Point(4, 6))\nassert (m.x, m.y) == (2, 3)\n"
         "assert m.dist2(Point(0, 0)) == 13\nassert repr(m) == 'Point(x=2, y=3)'"]),
    "class_with_classmethod": (
        "class Temperature:\n    def __init__(self, celsius):\n        self.celsius = celsius\n"
        "    @classmethod\n    def from_fahrenheit(cls, f):\n        return cls((f - 32) * 5 / 9)\n"
        "    @property\n    def fahrenheit(self):\n        return self.celsius * 9 / 5 + 32\n"
        "    @staticmethod\n    def is_freezing(c):\n        return c <= 0\n",
        ["t = Temperature.from_fahrenheit(212)\nassert t.celsius == 100\n"
         "assert t.fahrenheit == 212\nassert Temperature.is_freezing(-1)"]),
    "inheritance": (
        "class Shape:\n    def area(self):\n        raise NotImplementedError\n"
        "    def describe(self):\n        return f'{type(self).__name__} of area {self.area()}'\n"
        "class Square(Shape):\n    def __init__(self, s):\n        self.s = s\n"
        "    def area(self):\n        return self.s * self.s\n",
        ["assert Square(3).describe() == 'Square of area 9'\n"
         "try:\n    Shape().area()\nexcept NotImplementedError:\n    pass\nelse:\n"
         "    assert False"]),
    "design_hashmap": (
        "class MyHashMap:\n    def __init__(self):\n        self.b = [[] for _ in range(97)]\n"
        "    def put(self, key, value):\n        bucket = self.b[key % 97]\n"
        "        for pair in bucket:\n            if pair[0] == key:\n"
        "                pair[1] = value\n"
        "                return\n        bucket.append([key, value])\n"
        "    def get(self, key):\n        for k, v in self.b[key % 97]:\n            if k == key:\n"
        "                return v\n        return -1\n"
        "    def remove(self, key):\n        bucket = self.b[key % 97]\n"
        "        bucket[:] = [p for p in bucket if p[0] != key]\n",
        ["m = MyHashMap()\nm.put(1, 1)\nm.put(98, 2)\nassert m.get(1) == 1 and m.get(98) == 2\n"
         "m.put(1, 5)\nm.remove(98)\nassert (m.get(1), m.get(98)) == (5, -1)"]),
    "closure_counter": (
        "def make_counter():\n    count = 0\n    def inc():\n        nonlocal count\n"
        "        count += 1\n        return count\n    return inc\n",
        ["c = make_counter()\nc()\nc()\nassert c() == 3\nassert make_counter()() == 1"]),
    "callback_argument": (
        "def apply_all(funcs, x):\n    return [f(x) for f in funcs]\n"
        "def sort_by(items, key):\n    return sorted(items, key=key)\n",
        ["assert apply_all([abs, str, lambda v: v * 2], -3) == [3, '-3', -6]\n"
         "assert sort_by(['bb', 'a', 'ccc'], len) == ['a', 'bb', 'ccc']"]),
}

GENERATOR_TASKS: dict[str, tuple[str, list[str]]] = {
    "fibonacci": ("def fib():\n    a, b = 0, 1\n    while True:\n        yield a\n"
                  "        a, b = b, a + b\n",
                  ["import itertools\nassert list(itertools.islice(fib(), 7)) == "
                   "[0, 1, 1, 2, 3, 5, 8]",
                   "g = fib()\nassert next(g) == 0 and next(g) == 1 and next(g) == 1"]),
    "map_object": ("def squares(xs):\n    return map(lambda x: x * x, xs)\n",
                   ["assert list(squares([1, 2, 3])) == [1, 4, 9]",
                    "assert sum(squares(range(4))) == 14"]),
    "filter_and_zip": ("def evens(xs):\n    return filter(lambda x: x % 2 == 0, xs)\n"
                       "def pairs(a, b):\n    return zip(a, b)\n",
                       ["assert list(evens(range(7))) == [0, 2, 4, 6]",
                        "assert dict(pairs('ab', [1, 2])) == {'a': 1, 'b': 2}"]),
    "finite_generator": ("def countdown(n):\n    while n > 0:\n        yield n\n        n -= 1\n",
                         ["assert list(countdown(3)) == [3, 2, 1]",
                          "assert sorted(countdown(4)) == [1, 2, 3, 4]",
                          "g = countdown(1)\nassert next(g) == 1\ntry:\n    next(g)\n"
                          "except StopIteration:\n    pass\nelse:\n    assert False"]),
    "generator_of_tuples": ("def enumerate_words(text):\n"
                            "    for i, w in enumerate(text.split()):\n        yield i, w\n",
                            ["assert list(enumerate_words('a b')) == [(0, 'a'), (1, 'b')]",
                             "assert dict(enumerate_words('x y')) == {0: 'x', 1: 'y'}"]),
    "iterator_class": ("class Range2:\n    def __init__(self, n):\n        self.i, self.n = 0, n\n"
                       "    def __iter__(self):\n        return self\n    def __next__(self):\n"
                       "        if self.i >= self.n:\n            raise StopIteration\n"
                       "        self.i += 2\n        return self.i - 2\n",
                       ["assert list(Range2(5)) == [0, 2, 4]",
                        "assert [x for x in Range2(3)] == [0, 2]"]),
    "dict_views": ("def keys_of(d):\n    return d.keys()\ndef values_of(d):\n"
    "    return d.values()\n",
                   ["assert sorted(keys_of({'b': 1, 'a': 2})) == ['a', 'b']",
                    "assert set(values_of({'b': 1, 'a': 2})) == {1, 2}"]),
}

MUTATION_TASKS: dict[str, tuple[str, list[str]]] = {
    "sort_in_place": ("def sort_list(xs):\n    xs.sort()\n",
                      ["a = [3, 1, 2]\nsort_list(a)\nassert a == [1, 2, 3]"]),
    "reverse_in_place": ("def reverse(xs):\n    i, j = 0, len(xs) - 1\n    while i < j:\n"
                         "        xs[i], xs[j] = xs[j], xs[i]\n        i += 1\n        j -= 1\n",
                         ["a = [1, 2, 3, 4]\nreverse(a)\nassert a == [4, 3, 2, 1]",
                          "b = []\nreverse(b)\nassert b == []"]),
    "rotate_matrix": ("def rotate(m):\n    m[:] = [list(row) for row in zip(*m[::-1])]\n",
                      ["m = [[1, 2], [3, 4]]\nrotate(m)\nassert m == [[3, 1], [4, 2]]"]),
    "move_zeroes": ("def moveZeroes(nums):\n    k = 0\n    for x in nums:\n        if x:\n"
                    "            nums[k] = x\n            k += 1\n"
                    "    for i in range(k, len(nums)):\n"
                    "        nums[i] = 0\n",
                    ["n = [0, 1, 0, 3, 12]\nmoveZeroes(n)\nassert n == [1, 3, 12, 0, 0]"]),
    "dict_update": ("def add_defaults(d, **defaults):\n    for k, v in defaults.items():\n"
                    "        d.setdefault(k, v)\n",
                    ["d = {'a': 1}\nadd_defaults(d, a=5, b=2)\nassert d == {'a': 1, 'b': 2}"]),
    "set_discard": ("def drop_negatives(s):\n    for x in list(s):\n        if x < 0:\n"
                    "            s.discard(x)\n",
                    ["s = {1, -1, 2, -5}\ndrop_negatives(s)\nassert s == {1, 2}"]),
    "returned_alias": ("def append_one(xs):\n    xs.append(1)\n    return xs\n",
                       ["a = []\nb = append_one(a)\nassert b is a and a == [1]",
                        "a = [0]\nassert append_one(a) == [0, 1] and a == [0, 1]"]),
    "bytearray_upper": ("def upper(buf):\n    for i, c in enumerate(buf):\n"
                        "        if 97 <= c <= 122:\n            buf[i] = c - 32\n",
                        ["b = bytearray(b'ab1')\nupper(b)\nassert b == bytearray(b'AB1')"]),
    "keyword_mutation": ("def fill(n, out=None):\n    out.extend(range(n))\n",
                         ["acc = []\nfill(3, out=acc)\nassert acc == [0, 1, 2]"]),
    "class_method_mutates_argument": (
        "class Solution:\n    def sortColors(self, nums):\n        nums.sort()\n",
        ["n = [2, 0, 1]\nSolution().sortColors(n)\nassert n == [0, 1, 2]"]),
}

DATA_TASKS: dict[str, tuple[str, list[str]]] = {
    "namedtuple": ("from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\n"
                   "def origin():\n    return Point(0, 0)\n",
                   ["p = origin()\nassert p.x == 0 and p.y == 0 and p == (0, 0)"]),
    "fraction": ("from fractions import Fraction\ndef half(n):\n    return Fraction(n, 2)\n",
                 ["from fractions import Fraction\nassert half(3) == Fraction(3, 2)"]),
    "decimal": ("from decimal import Decimal\ndef price(s):\n    return Decimal(s) * 2\n",
                ["from decimal import Decimal\nassert price('1.10') == Decimal('2.20')\n"
                 "assert str(price('1.10')) == '2.20'"]),
    "complex": ("def root_minus_one():\n    return 1j\n", ["assert root_minus_one() ** 2 == -1"]),
    "deque": ("from collections import deque\ndef window(xs, n):\n    return deque(xs, maxlen=n)\n",
              ["from collections import deque\nw = window([1, 2, 3], 2)\n"
               "assert w == deque([2, 3]) and w.maxlen == 2"]),
    "counter": ("from collections import Counter\ndef counts(s):\n    c = Counter(s)\n"
                "    c['z'] = 0\n    return c\n",
                ["c = counts('aab')\nassert c['a'] == 2 and 'z' in c\n"
                 "assert c.most_common(1) == [('a', 2)]"]),
    "ordered_dict": ("from collections import OrderedDict\ndef ordered(pairs):\n"
                     "    return OrderedDict(pairs)\n",
                     ["assert list(ordered([(2, 'b'), (1, 'a')])) == [2, 1]"]),
    "frozenset": ("def letters(s):\n    return frozenset(s)\n",
                  ["assert letters('aba') == frozenset('ab')\n"
                   "assert type(letters('a')) is frozenset"]),
    "bytearray": ("def buf(n):\n    return bytearray(n)\n",
                  ["assert buf(2) == bytearray(b'\\x00\\x00')\nassert type(buf(1)) is bytearray"]),
    "big_int": ("def big(n):\n    return 7 ** n\n",
                ["assert big(9000) == 7 ** 9000", "assert big(9000) % 1000 == 7 ** 9000 % 1000"]),
    "custom_exception_chain": (
        "class AppError(Exception):\n    pass\nclass NotFound(AppError, KeyError):\n    pass\n"
        "def find(d, k):\n    if k not in d:\n        raise NotFound(k)\n    return d[k]\n",
        ["try:\n    find({}, 'x')\nexcept NotFound:\n    pass\nelse:\n    assert False",
         "try:\n    find({}, 'x')\nexcept AppError:\n    pass\nelse:\n    assert False",
         "assert find({'x': 1}, 'x') == 1"]),
}
