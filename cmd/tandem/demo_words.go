package main

// The vocabulary of the demo data: the people, companies, pages and campaigns of a
// B2B software company's marketing site.

var firstNames = []string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
	"Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily",
	"Andrew", "Michelle", "Paul", "Amanda", "Joshua", "Melissa", "Kevin", "Stephanie", "Brian", "Rebecca",
	"George", "Laura", "Ryan", "Rachel", "Jacob", "Olivia", "Nicholas", "Emma", "Eric", "Sophie",
	"Jonathan", "Hannah", "Samuel", "Chloe", "Benjamin", "Grace", "Lucas", "Mia", "Oliver", "Isabella",
	"Liam", "Charlotte", "Noah", "Amelia", "Ethan", "Harper", "Alexander", "Zoe", "Henry", "Nora",
	"Maximilian", "Anna", "Felix", "Lena", "Jonas", "Julia", "Leon", "Katharina", "Moritz", "Marie",
	"Lukas", "Clara", "Mathieu", "Camille", "Antoine", "Manon", "Hugo", "Lea", "Pierre", "Ines",
	"Javier", "Lucia", "Carlos", "Elena", "Diego", "Sofia", "Mateo", "Valentina", "Pedro", "Beatriz",
	"Joao", "Ana", "Rafael", "Gabriela", "Lars", "Ingrid", "Erik", "Astrid", "Sven", "Freya",
	"Pieter", "Sanne", "Daan", "Femke", "Luca", "Giulia", "Marco", "Francesca", "Piotr", "Zofia",
	"Arjun", "Priya", "Rahul", "Ananya", "Vikram", "Neha", "Rohan", "Kavya", "Wei", "Mei",
	"Hiroshi", "Yuki", "Kenji", "Haruka", "Min", "Jia", "Daniela", "Aisha", "Omar", "Fatima",
	"Kwame", "Amara", "Ciaran", "Siobhan", "Sean", "Aoife", "Connor", "Niamh", "Declan", "Maeve",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
	"Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward",
	"Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes", "Price", "Sanders",
	"Myers", "Long", "Ross", "Foster", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Fisher",
	"Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
	"Dubois", "Moreau", "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "Fournier", "Girard",
	"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
	"Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer", "Bos", "Vos",
	"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsen", "Hansen", "Nielsen", "Lindqvist",
	"Kowalski", "Nowak", "Wisniewski", "Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida",
	"Patel", "Sharma", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Mehta", "Chen", "Wang",
	"Li", "Zhang", "Liu", "Tanaka", "Suzuki", "Sato", "Takahashi", "Kim", "Park", "Choi",
	"O'Brien", "Byrne", "Ryan", "Walsh", "Kennedy", "Okafor", "Mensah", "Haddad", "Khan", "Ali",
}

// weighted is a choice with a relative weight.
type weighted[T any] struct {
	w float64
	v T
}

var jobTitles = []weighted[string]{
	{1.2, "Chief Marketing Officer"}, {0.8, "Chief Revenue Officer"}, {0.6, "Chief Executive Officer"},
	{0.4, "Founder & CEO"}, {0.3, "Chief Operating Officer"}, {0.3, "Chief Technology Officer"},
	{2.5, "VP Marketing"}, {2, "VP of Sales"}, {1, "VP Demand Generation"}, {1, "VP Revenue Operations"},
	{0.8, "VP Growth"}, {0.6, "VP Customer Success"}, {0.5, "SVP Sales"},
	{2, "Head of Marketing"}, {1.5, "Head of Growth"}, {1.2, "Head of Sales"}, {1, "Head of RevOps"},
	{0.8, "Head of Demand Gen"}, {0.6, "Head of Partnerships"},
	{3, "Director of Marketing"}, {2.5, "Director of Sales Ops"}, {2, "Director of Demand Generation"},
	{1.5, "Director of Revenue Operations"}, {1.5, "Director of Product Marketing"}, {1.2, "Director of Sales"},
	{1, "Director, Marketing Operations"}, {0.8, "Director of Field Marketing"}, {0.8, "Director of IT"},
	{2, "Senior Marketing Manager"}, {4, "Marketing Manager"}, {3, "Demand Generation Manager"},
	{2.5, "Marketing Operations Manager"}, {2, "Sales Operations Manager"}, {2, "Product Marketing Manager"},
	{1.5, "Content Marketing Manager"}, {1.5, "Growth Marketing Manager"}, {1.2, "Field Marketing Manager"},
	{1.5, "Sales Manager"}, {1.2, "RevOps Manager"}, {1, "Partner Marketing Manager"},
	{1, "Customer Success Manager"}, {0.8, "Lifecycle Marketing Manager"},
	{4, "Account Executive"}, {2, "Senior Account Executive"}, {3.5, "Sales Development Representative"},
	{1.5, "Business Development Representative"}, {1, "Enterprise Account Executive"},
	{2.5, "Marketing Specialist"}, {2, "Marketing Coordinator"}, {1.5, "Marketing Operations Specialist"},
	{1.5, "Revenue Operations Analyst"}, {1.2, "Sales Operations Analyst"}, {1.2, "Data Analyst"},
	{1, "Marketing Analyst"}, {1, "Content Strategist"}, {0.8, "Social Media Manager"},
	{1, "Software Engineer"}, {0.6, "Solutions Engineer"}, {0.5, "IT Manager"}, {0.5, "Finance Manager"},
	{0.4, "Consultant"}, {0.3, "Office Manager"}, {0.3, "Student"},
}

// country is where a company or person is, with what its web addresses and clocks look like.
type country struct {
	code   string
	tld    string
	tz     int // hours from UTC, near enough for office hours
	locale string
	legal  string // a company name suffix common there
}

var countries = []weighted[country]{
	{40, country{"US", ".com", -5, "en-US", "Inc."}},
	{9, country{"GB", ".co.uk", 0, "en-GB", "Ltd"}},
	{8, country{"DE", ".de", 1, "de-DE", "GmbH"}},
	{6, country{"CA", ".ca", -5, "en-CA", "Inc."}},
	{5, country{"FR", ".fr", 1, "fr-FR", "SAS"}},
	{4, country{"NL", ".nl", 1, "nl-NL", "B.V."}},
	{4, country{"AU", ".com.au", 10, "en-AU", "Pty Ltd"}},
	{4, country{"IN", ".in", 5, "en-IN", "Pvt Ltd"}},
	{3, country{"ES", ".es", 1, "es-ES", "S.L."}},
	{3, country{"SE", ".se", 1, "sv-SE", "AB"}},
	{3, country{"BR", ".com.br", -3, "pt-BR", "Ltda"}},
	{2, country{"JP", ".jp", 9, "ja-JP", "K.K."}},
	{2, country{"SG", ".sg", 8, "en-SG", "Pte Ltd"}},
	{2, country{"IT", ".it", 1, "it-IT", "S.r.l."}},
	{2, country{"PL", ".pl", 1, "pl-PL", "Sp. z o.o."}},
	{2, country{"IE", ".ie", 0, "en-IE", "Ltd"}},
	{1, country{"CH", ".ch", 1, "de-CH", "AG"}},
}

var companyPrefixes = []string{
	"North", "Blue", "Bright", "Clear", "Silver", "Iron", "Red", "Green", "Swift", "True",
	"Open", "Peak", "Summit", "Cedar", "Maple", "Oak", "Pine", "River", "Stone", "Harbor",
	"Golden", "Star", "Sun", "Arc", "Nova", "Apex", "Prime", "Vector", "Quantum", "Pixel",
	"Signal", "Echo", "Atlas", "Orbit", "Lumen", "Aqua", "Frost", "Wild", "Bold", "Grand",
	"Hyper", "Omni", "Rapid", "Solid", "Spark", "Sky", "Tide", "Union", "Vertex", "Alpine",
	"Coastal", "Crimson", "Ember", "Falcon", "Granite", "Horizon", "Indigo", "Jade", "Keystone", "Lake",
	"Mesa", "Noble", "Onyx", "Pacific", "Quartz", "Ridge", "Sage", "Timber", "Urban", "Willow",
	"Zephyr", "Copper", "Birch", "Cobalt", "Delta", "Evergreen", "Fox", "Glacier", "Highland", "Lantern",
}

var companyRoots = []string{
	"wave", "point", "path", "bridge", "stack", "field", "works", "forge", "line", "light",
	"gate", "base", "hub", "scale", "flow", "mark", "sight", "ware", "logic", "leaf",
	"crest", "dale", "wood", "shore", "beam", "core", "craft", "grid", "loop", "mind",
	"nest", "port", "quest", "rock", "sail", "shift", "spring", "stream", "trail", "vale",
	"view", "way", "wing", "yard", "bay", "bit", "box", "cast", "cove", "dash",
	"deck", "dock", "edge", "frame", "glow", "hive", "key", "link", "lane", "mint",
	"note", "pulse", "ray", "sphere", "tree", "vault", "well", "metrics", "spire", "mesh",
}

// sector is the second word of a company's name, with the industry it suggests.
type sector struct{ word, industry string }

var sectors = []sector{
	{"Analytics", "Software"}, {"Systems", "Software"}, {"Software", "Software"}, {"Technologies", "Software"},
	{"Cloud", "Software"}, {"Data", "Software"}, {"Labs", "Software"}, {"Digital", "Marketing & Advertising"},
	{"Health", "Healthcare"}, {"Care", "Healthcare"}, {"Bio", "Biotechnology"}, {"Therapeutics", "Biotechnology"},
	{"Logistics", "Logistics & Supply Chain"}, {"Freight", "Logistics & Supply Chain"},
	{"Capital", "Financial Services"}, {"Financial", "Financial Services"}, {"Payments", "Financial Services"},
	{"Insurance", "Insurance"}, {"Partners", "Professional Services"}, {"Consulting", "Professional Services"},
	{"Group", "Professional Services"}, {"Media", "Media"}, {"Studios", "Media"}, {"Networks", "Telecommunications"},
	{"Telecom", "Telecommunications"}, {"Robotics", "Manufacturing"}, {"Manufacturing", "Manufacturing"},
	{"Industries", "Manufacturing"}, {"Materials", "Manufacturing"}, {"Energy", "Energy"}, {"Power", "Energy"},
	{"Foods", "Consumer Goods"}, {"Brands", "Consumer Goods"}, {"Retail", "Retail"}, {"Commerce", "Retail"},
	{"Security", "Computer & Network Security"}, {"Learning", "Education"}, {"Academy", "Education"},
	{"Mobility", "Automotive"}, {"Motors", "Automotive"}, {"Properties", "Real Estate"}, {"Homes", "Real Estate"},
	{"Hospitality", "Hospitality"}, {"Travel", "Hospitality"},
}

var freeMailDomains = []weighted[string]{
	{55, "gmail.com"}, {12, "outlook.com"}, {10, "yahoo.com"}, {8, "hotmail.com"}, {6, "icloud.com"},
	{3, "proton.me"}, {2, "gmx.de"}, {2, "aol.com"}, {2, "web.de"},
}

// page is a page of the marketing site; hot is its weight among visitors who are close
// to buying, cold among the rest.
type page struct {
	path, title, name, category string
	cold, hot                   float64
}

var pages = []page{
	{"/", "Tandem | One funnel for marketing and sales", "Home", "", 14, 6},
	{"/pricing", "Pricing | Tandem", "Pricing", "", 5, 16},
	{"/product", "Product overview | Tandem", "Product", "Product", 6, 6},
	{"/product/lead-scoring", "Lead scoring | Tandem", "Lead Scoring", "Product", 3, 4},
	{"/product/routing", "Lead routing | Tandem", "Lead Routing", "Product", 3, 4},
	{"/product/sla", "Handoff SLAs | Tandem", "Handoff SLAs", "Product", 2, 3},
	{"/product/attribution", "Revenue attribution | Tandem", "Attribution", "Product", 2, 3},
	{"/integrations", "Integrations | Tandem", "Integrations", "Integrations", 2, 4},
	{"/integrations/salesforce", "Salesforce integration | Tandem", "Salesforce", "Integrations", 1, 3},
	{"/integrations/hubspot", "HubSpot integration | Tandem", "HubSpot", "Integrations", 1, 2},
	{"/customers", "Customers | Tandem", "Customers", "Customers", 2, 3},
	{"/customers/northwind", "How Northwind cut speed to lead to 4 minutes", "Northwind case study", "Customers", 1, 2},
	{"/customers/globex", "Globex: one definition of an MQL", "Globex case study", "Customers", 1, 2},
	{"/security", "Security | Tandem", "Security", "", 0.5, 2},
	{"/demo", "Book a demo | Tandem", "Demo", "", 1.5, 6},
	{"/contact", "Contact sales | Tandem", "Contact", "", 0.8, 2},
	{"/about", "About us | Tandem", "About", "Company", 1.5, 0.5},
	{"/careers", "Careers | Tandem", "Careers", "Company", 1.5, 0.2},
	{"/docs/getting-started", "Getting started | Tandem docs", "Getting started", "Docs", 1.5, 2},
	{"/blog", "Blog | Tandem", "Blog", "Blog", 4, 1},
	{"/blog/mql-vs-sql", "MQL vs SQL: where marketing ends and sales begins", "MQL vs SQL", "Blog", 3, 1},
	{"/blog/lead-scoring-models-that-work", "Lead scoring models that actually work", "Lead scoring models", "Blog", 3, 1},
	{"/blog/speed-to-lead", "Speed to lead: why five minutes matters", "Speed to lead", "Blog", 3, 1},
	{"/blog/sales-marketing-sla-template", "A sales and marketing SLA template", "SLA template", "Blog", 2.5, 1},
	{"/blog/revops-metrics", "The twelve RevOps metrics that matter", "RevOps metrics", "Blog", 2.5, 0.8},
	{"/blog/multi-touch-attribution-explained", "Multi-touch attribution, explained", "Attribution explained", "Blog", 2, 0.8},
	{"/blog/round-robin-lead-routing", "Round robin lead routing without the spreadsheet", "Round robin routing", "Blog", 2, 0.8},
	{"/blog/closing-the-loop-on-rejected-leads", "Closing the loop on rejected leads", "Rejected leads", "Blog", 1.5, 0.6},
	{"/blog/b2b-funnel-benchmarks", "B2B funnel benchmarks for 2026", "Funnel benchmarks", "Blog", 2, 0.6},
	{"/blog/utm-naming-conventions", "UTM naming conventions your analysts will thank you for", "UTM conventions", "Blog", 1.5, 0.4},
	{"/blog/abm-playbook", "The account-based marketing playbook", "ABM playbook", "Blog", 1.5, 0.6},
	{"/blog/crm-data-hygiene", "CRM data hygiene in one afternoon", "CRM data hygiene", "Blog", 1.2, 0.4},
	{"/resources/state-of-revops-report", "The State of Revenue Operations report", "State of RevOps", "Resources", 1.5, 1.5},
	{"/resources/lead-scoring-workbook", "The lead scoring workbook", "Lead scoring workbook", "Resources", 1.2, 1.2},
	{"/webinars/speed-to-lead-live", "Webinar: speed to lead, live", "Speed to lead webinar", "Webinars", 1, 1.5},
	{"/webinars/building-an-sla", "Webinar: building an SLA both teams sign", "SLA webinar", "Webinars", 1, 1.5},
}

// formPages are where people identify themselves by filling in a form.
var formPages = []weighted[string]{
	{4, "/resources/state-of-revops-report"}, {3, "/resources/lead-scoring-workbook"},
	{3, "/webinars/speed-to-lead-live"}, {2, "/webinars/building-an-sla"}, {2, "/demo"},
	{2, "/blog"}, {1.5, "/pricing"}, {1, "/contact"}, {1, "/"},
}

// campaign is a marketing campaign as UTM parameters describe it.
type campaign struct {
	source, medium, name, term, content, referrer string
}

var campaigns = []weighted[campaign]{
	{10, campaign{"google", "cpc", "brand-search", "tandem software", "", "https://www.google.com/"}},
	{8, campaign{"google", "cpc", "lead-routing-nonbrand", "lead routing software", "rsa-1", "https://www.google.com/"}},
	{5, campaign{"google", "cpc", "lead-scoring-nonbrand", "lead scoring tool", "rsa-2", "https://www.google.com/"}},
	{8, campaign{"linkedin", "paid_social", "abm-revops-leaders", "", "carousel-sla", "https://www.linkedin.com/"}},
	{4, campaign{"linkedin", "paid_social", "state-of-revops-report", "", "single-image", "https://www.linkedin.com/"}},
	{6, campaign{"newsletter", "email", "monthly-digest", "", "header-cta", ""}},
	{5, campaign{"marketo", "email", "webinar-invite-speed-to-lead", "", "button", ""}},
	{3, campaign{"marketo", "email", "nurture-mql-vs-sql", "", "text-link", ""}},
	{4, campaign{"g2", "referral", "g2-category-lead-management", "", "", "https://www.g2.com/"}},
	{2, campaign{"capterra", "cpc", "capterra-ppc", "", "", "https://www.capterra.com/"}},
	{3, campaign{"facebook", "paid_social", "retargeting-pricing", "", "video-15s", "https://www.facebook.com/"}},
	{2, campaign{"bing", "cpc", "brand-search", "tandem", "", "https://www.bing.com/"}},
	{2, campaign{"partner", "referral", "salesforce-appexchange", "", "", "https://appexchange.salesforce.com/"}},
	{1.5, campaign{"youtube", "video", "product-tour", "", "pre-roll", "https://www.youtube.com/"}},
	{1.5, campaign{"events", "offline", "saastr-2026-booth", "", "badge-scan", ""}},
}

// organicReferrers are where visitors come from without a campaign; "" is direct.
var organicReferrers = []weighted[string]{
	{40, "https://www.google.com/"}, {30, ""}, {7, "https://www.linkedin.com/"}, {4, "https://www.bing.com/"},
	{3, "https://duckduckgo.com/"}, {3, "https://news.ycombinator.com/"}, {2, "https://t.co/"},
	{2, "https://www.reddit.com/"}, {2, "https://chatgpt.com/"}, {1, "https://www.producthunt.com/"},
}

var userAgents = []weighted[string]{
	{40, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"},
	{25, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"},
	{12, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.4 Safari/605.1.15"},
	{10, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36 Edg/136.0.0.0"},
	{5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:138.0) Gecko/20100101 Firefox/138.0"},
	{6, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.4 Mobile/15E148 Safari/604.1"},
	{2, "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36"},
}

// trackEvent is a track call the site or the product sends.
type trackEvent struct {
	name      string
	cold, hot float64
}

var trackEvents = []trackEvent{
	{"Email Link Clicked", 22, 10},
	{"Form Submitted", 14, 10},
	{"Whitepaper Downloaded", 14, 8},
	{"Webinar Registered", 9, 7},
	{"Webinar Attended", 4, 6},
	{"Product Tour Started", 5, 7},
	{"Case Study Viewed", 3, 5},
	{"Pricing Calculator Used", 1, 5},
	{"Contact Sales Clicked", 0.3, 2.5},
	{"Demo Requested", 0.1, 1.5},
	{"Trial Started", 0.1, 1.2},
}

var assets = []string{
	"The State of Revenue Operations 2026", "The Lead Scoring Workbook", "Speed to Lead Benchmark Report",
	"The Marketing-Sales SLA Template", "Multi-Touch Attribution Guide", "The ABM Playbook",
}

var webinars = []string{"Speed to lead, live", "Building an SLA both teams sign", "Attribution without the arguments", "RevOps office hours"}

var forms = []string{"newsletter", "contact-us", "content-download", "webinar-registration", "event-follow-up"}

var emailCampaigns = []string{"monthly-digest", "webinar-invite-speed-to-lead", "nurture-mql-vs-sql", "product-update-may", "report-launch"}
