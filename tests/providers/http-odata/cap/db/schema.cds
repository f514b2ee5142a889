// A subset of Northwind with the public service's entity set and property names, so that the
// same rows can be compared through the SQLite provider.
namespace nwdb;

entity Categories {
  key CategoryID   : Integer;
      CategoryName : String(15) not null;
      Description  : LargeString;
      Products     : Association to many Products on Products.CategoryID = CategoryID;
}

entity Products {
  key ProductID       : Integer;
      ProductName     : String(40) not null;
      SupplierID      : Integer;
      CategoryID      : Integer;
      QuantityPerUnit : String(20);
      UnitPrice       : Decimal(19, 4);
      UnitsInStock    : Integer;
      UnitsOnOrder    : Integer;
      ReorderLevel    : Integer;
      Discontinued    : Boolean not null;
      Category        : Association to Categories on Category.CategoryID = CategoryID;
      Order_Details   : Association to many Order_Details on Order_Details.ProductID = ProductID;
}

entity Orders {
  key OrderID       : Integer;
      CustomerID    : String(5);
      EmployeeID    : Integer;
      OrderDate     : DateTime;
      ShippedDate   : DateTime;
      Freight       : Decimal(19, 4);
      ShipCity      : String(15);
      ShipCountry   : String(15);
      Order_Details : Association to many Order_Details on Order_Details.OrderID = OrderID;
}

entity Order_Details {
  key OrderID   : Integer;
  key ProductID : Integer;
      UnitPrice : Decimal(19, 4) not null;
      Quantity  : Integer not null;
      Discount  : Double not null;
      Order     : Association to Orders on Order.OrderID = OrderID;
      Product   : Association to Products on Product.ProductID = ProductID;
}

// Not Northwind: a small entity with an ETag, for writes and optimistic concurrency.
entity Notes {
  key NoteID     : Integer;
      Text       : String(100) not null;
      Version    : Integer default 0;
      modifiedAt : Timestamp @cds.on.insert: $now  @cds.on.update: $now  @odata.etag;
}
